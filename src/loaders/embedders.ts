/**
 * `createEmbedder(spec)`: one interface over three embedding sources.
 *  - 'faceplugin' (default): the bundled fr_feature.onnx through onnxruntime-node (BGR, (x−127)/128);
 *  - 'FILE.onnx': any ONNX recognizer through onnxruntime-node; input convention from a sidecar
 *    FILE.onnx.json / FILE.json ({channelOrder, mean, std}) or `opts.input`, else insightface's RGB (x−127.5)/127.5;
 *  - 'tfjs:faceplugin' | 'tfjs:FILE.onnx': the same model imported into tfjs (checks the importer);
 *  - 'faceres' | 'mobileface': bundled tfjs graph models, independent attackers (graph-model.ts);
 *  - RUN_DIR: a `facemae train-fr` run, in tfjs.
 * ONNX runs are batched when the model's batch dimension is dynamic, else one image per run.
 */
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { FaceMaeError } from '../core/errors.js';
import { initEngine, tf } from '../engine/backend.js';
import { openSession } from '../engine/onnx-session.js';
import { isOnnxSpec, loadFaceNet, resolveOnnxSpec } from './face-net.js';
import { graphModelEmbedder } from './graph-model.js';
import { GRAPH_MODELS, isGraphModelSpec } from './graph-model-specs.js';
import type { FaceInputSpec } from '../models/onnx/face-input.js';
import type { Embedder, FaceNet } from '../types.js';

export interface EmbedderOptions {
  /** Input convention override for ONNX models. */
  input?: Partial<FaceInputSpec>;
  /** Images per tfjs forward pass (default 32). */
  batchSize?: number;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
}

/** Wraps a tfjs FaceNet as an Embedder (eval mode, batched, tensors freed per batch). */
export function faceNetEmbedder(
  net: FaceNet,
  name: string,
  opts: { batchSize?: number; ownsNet?: boolean } = {},
): Embedder {
  const bs = opts.batchSize ?? 32;
  const s = net.inputSize;
  return {
    name,
    embeddingDim: net.embeddingDim,
    inputSize: s,
    async embed(images: Uint8Array, n: number): Promise<Float32Array> {
      checkBuffer(images, n, s, name);
      const out = new Float32Array(n * net.embeddingDim);
      for (let i = 0; i < n; i += bs) {
        const m = Math.min(bs, n - i);
        const y = tf.tidy(() => {
          // Scaled in JS: float32 from the start, no int32 tensor and no implicit cast.
          const px = images.subarray(i * s * s * 3, (i + m) * s * s * 3);
          const x = tf.tensor4d(
            Float32Array.from(px, (v) => v / 255),
            [m, s, s, 3],
          );
          return net.apply(x, false);
        });
        out.set(await y.data(), i * net.embeddingDim);
        y.dispose();
      }
      return out;
    },
    dispose() {
      if (opts.ownsNet !== false) net.dispose();
    },
  };
}

function checkBuffer(images: Uint8Array, n: number, s: number, name: string): void {
  if (images.length !== n * s * s * 3) {
    throw new FaceMaeError(`embedder ${name}: got ${images.length} bytes for ${n} images of ${s}×${s}×3`);
  }
}

/** An onnxruntime-node embedder; NCHW float input built from RGB uint8 with the model's convention. */
export async function onnxEmbedder(spec: string, opts: EmbedderOptions = {}): Promise<Embedder> {
  const { file, input } = resolveOnnxSpec(spec, opts.input);
  const session = await openSession(file, 'face recognition', opts.threads);
  const meta = session.inputMetadata[0];
  const outName = session.outputNames[0];
  if (!meta || !outName) throw new FaceMaeError(`${file} has no input or output`, 'E_BAD_MODEL');
  const shape = meta.isTensor ? meta.shape : [];
  const dynamicBatch = typeof shape[0] !== 'number' || shape[0] < 1;
  const s = typeof shape[2] === 'number' && shape[2] > 0 ? shape[2] : input.inputSize;
  const plane = s * s;
  const order = input.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  let dim = 0;
  const run = async (images: Uint8Array, start: number, m: number): Promise<Float32Array> => {
    const x = new Float32Array(m * 3 * plane);
    for (let n = 0; n < m; n++) {
      const src = (start + n) * plane * 3;
      for (let c = 0; c < 3; c++) {
        const ch = order[c] as number;
        const dst = (n * 3 + c) * plane;
        for (let p = 0; p < plane; p++)
          x[dst + p] = ((images[src + p * 3 + ch] as number) - input.mean) / input.std;
      }
    }
    const r = await session.run({ [meta.name]: new ort.Tensor('float32', x, [m, 3, s, s]) });
    const y = r[outName] as ort.Tensor;
    dim = y.dims[y.dims.length - 1] as number;
    return y.data as Float32Array;
  };
  // Probe the embedding size with one blank image.
  dim = (await run(new Uint8Array(plane * 3), 0, 1)).length;
  const name = spec === 'faceplugin' ? 'faceplugin' : file;
  return {
    name,
    embeddingDim: dim,
    inputSize: s,
    async embed(images: Uint8Array, n: number): Promise<Float32Array> {
      checkBuffer(images, n, s, name);
      const out = new Float32Array(n * dim);
      const step = dynamicBatch ? 32 : 1;
      for (let i = 0; i < n; i += step) {
        const m = Math.min(step, n - i);
        out.set((await run(images, i, m)).subarray(0, m * dim), i * dim);
      }
      return out;
    },
    async dispose() {
      await session.release();
    },
  };
}

/** 'faceplugin' | 'faceres' | 'mobileface' | FILE.onnx | 'tfjs:faceplugin' | 'tfjs:FILE.onnx' | RUN_DIR -> Embedder. */
export async function createEmbedder(spec = 'faceplugin', opts: EmbedderOptions = {}): Promise<Embedder> {
  if (spec.startsWith('tfjs:')) {
    const inner = spec.slice(5);
    await initEngine();
    return faceNetEmbedder(await loadFaceNet(inner, { input: opts.input }), spec, {
      batchSize: opts.batchSize,
    });
  }
  if (isOnnxSpec(spec)) return onnxEmbedder(spec, opts);
  if (isGraphModelSpec(spec)) return graphModelEmbedder(spec, opts);
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) {
    await initEngine();
    return faceNetEmbedder(await loadFaceNet(spec), spec, { batchSize: opts.batchSize });
  }
  throw new FaceMaeError(
    `unknown model "${spec}": use ${['faceplugin', ...Object.keys(GRAPH_MODELS)].map((k) => `'${k}'`).join(', ')}, a .onnx file, 'tfjs:<model.onnx|faceplugin>', or a train-fr run folder`,
    'E_NOT_FOUND',
  );
}
