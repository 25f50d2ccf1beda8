/**
 * `createEmbedder(spec)`: one interface over three embedding sources.
 *  - 'faceplugin' (default): the bundled fr_feature.onnx through onnxruntime-node (BGR, (x−127)/128);
 *  - 'FILE.onnx': any ONNX recognizer through onnxruntime-node; input convention from a sidecar
 *    FILE.onnx.json / FILE.json ({channelOrder, mean, std}) or `opts.input`, else insightface's RGB (x−127.5)/127.5;
 *  - 'tfjs:faceplugin' | 'tfjs:FILE.onnx': the same model imported into tfjs (checks the importer);
 *  - 'faceres' | 'mobileface': bundled tfjs graph models, independent attackers (graph-model.ts);
 *  - RUN_DIR: a `facemae train-fr` run, in tfjs.
 * ONNX models run on worker threads, one image per run where the model fixes its batch at 1, else
 * in batches of 32 (src/loaders/onnx-pool.ts).
 */
import fs from 'node:fs';
import { FaceMaeError } from '../core/errors.js';
import { initEngine, tf } from '../engine/backend.js';
import { openOnnxPool } from './onnx-pool.js';
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
  /** ONNX models: worker threads, one onnxruntime session at one thread each (default: FACEMAE_THREADS, else the cores). */
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
          // Scaled in JS: float32 from the start, no int32 tensor and no implicit cast. A plain
          // loop: Float32Array.from with a callback took more time than the network's kernels.
          const px = images.subarray(i * s * s * 3, (i + m) * s * s * 3);
          const scaled = new Float32Array(px.length);
          for (let k = 0; k < px.length; k++) scaled[k] = px[k]! / 255;
          const x = tf.tensor4d(scaled, [m, s, s, 3]);
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

/**
 * An onnxruntime-node embedder: the model on worker threads, one session each (onnx-pool.ts), the
 * NCHW float input built there from RGB uint8 with the model's convention.
 */
export async function onnxEmbedder(spec: string, opts: EmbedderOptions = {}): Promise<Embedder> {
  const { file, input } = resolveOnnxSpec(spec, opts.input);
  const pool = await openOnnxPool(file, input, 'face recognition', opts.threads);
  const name = spec === 'faceplugin' ? 'faceplugin' : file;
  return {
    name,
    embeddingDim: pool.embeddingDim,
    inputSize: pool.inputSize,
    async embed(images: Uint8Array, n: number): Promise<Float32Array> {
      checkBuffer(images, n, pool.inputSize, name);
      return pool.embed(images, n);
    },
    dispose: () => pool.dispose(),
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
