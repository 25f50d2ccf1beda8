/**
 * An ONNX face recognizer on worker threads: one onnxruntime session per worker at one intra-op
 * thread, each worker embedding a contiguous share of the images. onnxruntime-node runs a
 * session's run() on the calling JS thread, so two runs never overlap in one thread; and a model
 * whose batch is fixed at 1 (faceplugin's fr_feature.onnx) uses two intra-op threads poorly: one
 * session at two threads embedded ~110–145 img/s, two workers at one thread each ~300, on two
 * cores. Results are placed by image index, so they do not depend on the number of workers.
 *
 * The worker's code is a string run with `eval: true`: a worker file would need a separate build
 * entry for tsc, tsx and vitest alike, and this one needs nothing but onnxruntime-node.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { FaceMaeError } from '../core/errors.js';
import { defaultThreads } from '../engine/backend.js';
import type { FaceInputSpec } from '../models/onnx/face-input.js';

/** The worker (CommonJS). Messages in: {id, images?: Uint8Array, n}; out: {id, out} | {id, error}. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
const { input } = workerData;
let session, name, outName, side, dynamic, dim;

// uint8 [m,S,S,3] RGB -> float32 [m,3,S,S] in the model's channel order and (x - mean) / std
function prepare(images, start, m) {
  const plane = side * side;
  const order = input.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const x = new Float32Array(m * 3 * plane);
  for (let n = 0; n < m; n++) {
    const src = (start + n) * plane * 3;
    for (let c = 0; c < 3; c++) {
      const ch = order[c];
      const dst = (n * 3 + c) * plane;
      for (let p = 0; p < plane; p++) x[dst + p] = (images[src + p * 3 + ch] - input.mean) / input.std;
    }
  }
  return x;
}

async function run(images, start, m) {
  const r = await session.run({ [name]: new ort.Tensor('float32', prepare(images, start, m), [m, 3, side, side]) });
  const y = r[outName];
  dim = y.dims[y.dims.length - 1];
  return y.data;
}

async function open() {
  session = await ort.InferenceSession.create(workerData.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const meta = session.inputMetadata[0];
  outName = session.outputNames[0];
  if (!meta || !outName) throw new Error('the model has no input or output');
  name = meta.name;
  const shape = meta.isTensor ? meta.shape : [];
  dynamic = typeof shape[0] !== 'number' || shape[0] < 1;
  side = typeof shape[2] === 'number' && shape[2] > 0 ? shape[2] : input.inputSize;
  await run(new Uint8Array(side * side * 3), 0, 1); // probes the embedding size
  return { side, dim };
}

async function embed(images, n) {
  const out = new Float32Array(n * dim);
  const step = dynamic ? 32 : 1;
  for (let i = 0; i < n; i += step) {
    const m = Math.min(step, n - i);
    out.set((await run(images, i, m)).subarray(0, m * dim), i * dim);
  }
  return out;
}

parentPort.on('message', async ({ id, images, n }) => {
  try {
    if (!images) return parentPort.postMessage({ id, out: await open() });
    const out = await embed(images, n);
    parentPort.postMessage({ id, out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: e && e.message ? e.message : String(e) });
  }
});
`;

type Reply = { id: number; out?: unknown; error?: string };

/** One worker and its requests in flight. */
class PoolWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private next = 0;
  private failure: Error | null = null;

  constructor(workerData: object, what: string) {
    // execArgv []: the parent's flags (--input-type=module, a loader such as tsx) would change how
    // the string is read; it is plain CommonJS and needs no loader
    this.worker = new Worker(WORKER, { eval: true, workerData, execArgv: [] });
    this.worker.unref(); // an idle pool does not keep the process alive
    this.worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (r.error !== undefined) w.reject(new FaceMaeError(`${what}: ${r.error}`, 'E_BAD_MODEL'));
      else w.resolve(r.out);
    });
    const fail = (e: Error) => {
      this.failure ??= new FaceMaeError(`${what}: its worker thread stopped: ${e.message}`, 'E_INTERNAL', {
        cause: e,
      });
      for (const w of this.waiting.values()) w.reject(this.failure);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  request<T>(msg: { images?: Uint8Array; n?: number }): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.ref();
      this.worker.postMessage({ id, ...msg }, msg.images ? [msg.images.buffer as ArrayBuffer] : []);
    });
  }

  async terminate(): Promise<void> {
    this.failure ??= new FaceMaeError('the embedder was disposed', 'E_INTERNAL');
    await this.worker.terminate();
  }
}

export interface OnnxPool {
  /** Worker threads, one onnxruntime session each. */
  readonly workers: number;
  /** Square input side the model takes. */
  readonly inputSize: number;
  readonly embeddingDim: number;
  /** images: n × S × S × 3 RGB uint8 -> n × D, each worker embedding a contiguous share. */
  embed(images: Uint8Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/**
 * Opens `file` in `workers` worker threads (default: FACEMAE_THREADS, else the cores, as the
 * engine: `sweep --jobs N` children get cores / N). A file onnxruntime cannot load is a
 * FaceMaeError naming it (`what` says which model).
 */
export async function openOnnxPool(
  file: string,
  input: FaceInputSpec,
  what: string,
  workers = defaultThreads(),
): Promise<OnnxPool> {
  if (!fs.existsSync(file)) throw new FaceMaeError(`${what} model not found: ${file}`, 'E_NOT_FOUND');
  if (!Number.isInteger(workers) || workers < 1)
    throw new FaceMaeError(`${what}: threads must be a positive integer, got ${workers}`, 'E_CONFIG');
  const workerData = {
    ort: createRequire(import.meta.url).resolve('onnxruntime-node'),
    model: fs.readFileSync(file), // read once: every worker runs the same bytes
    input,
  };
  const label = `${what} model ${file}`;
  const pool = Array.from({ length: workers }, () => new PoolWorker(workerData, `cannot run ${label}`));
  let side = 0;
  let dim = 0;
  try {
    const opened = await Promise.all(pool.map((w) => w.request<{ side: number; dim: number }>({})));
    ({ side, dim } = opened[0]!);
  } catch (e) {
    await Promise.all(pool.map((w) => w.terminate()));
    throw new FaceMaeError(
      `cannot load ${label}: ${(e as Error).message.replace(/^cannot run [^:]*: /, '')}`,
      'E_BAD_MODEL',
      {
        cause: e,
      },
    );
  }
  const bytes = side * side * 3;
  return {
    workers,
    inputSize: side,
    embeddingDim: dim,
    async embed(images: Uint8Array, n: number): Promise<Float32Array> {
      const out = new Float32Array(n * dim);
      const k = Math.min(pool.length, n);
      await Promise.all(
        Array.from({ length: k }, async (_, w) => {
          const [a, b] = [Math.floor((n * w) / k), Math.floor((n * (w + 1)) / k)];
          // a copy of the share, transferred: the caller's buffer stays whole and untouched
          const share = images.slice(a * bytes, b * bytes);
          out.set(await pool[w]!.request<Float32Array>({ images: share, n: b - a }), a * dim);
        }),
      );
      return out;
    },
    async dispose() {
      await Promise.all(pool.map((w) => w.terminate()));
    },
  };
}
