/**
 * `loadFaceNet(spec)`: a differentiable tfjs face recognizer from
 *  - 'faceplugin': the bundled assets/models/faceplugin/fr_feature.onnx (BGR, (x−127)/128);
 *  - FILE.onnx: any ONNX recognizer the importer supports; its input convention comes from a
 *    sidecar `FILE.onnx.json` / `FILE.json` ({channelOrder, mean, std}) or `opts.input`, else insightface's;
 *  - RUN_DIR: a `facemae train-fr` run (its latest checkpoint).
 * Imported networks are frozen (no trainable variables) so they can serve as the IRM teacher.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaceMaeError } from '../core/errors.js';
import { initEngine, tf } from '../engine/backend.js';
import type { FaceNet } from '../types.js';
import { FACEPLUGIN_INPUT, parseFaceInputSpec, type FaceInputSpec } from '../models/onnx/face-input.js';
import { importOnnxGraph } from '../models/onnx/import.js';
import { parseOnnxModel } from '../models/onnx/onnx-proto.js';
import { loadRunFaceNet } from './run-face-net.js';

const ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../assets');
/** The bundled recognizer (MIT, from faceplugin-face-recognition-js 0.0.1). */
export const FACEPLUGIN_MODEL = path.join(ASSETS, 'models/faceplugin/fr_feature.onnx');

export interface LoadFaceNetOptions {
  /** Input convention for an ONNX file (overrides its sidecar JSON). */
  input?: Partial<FaceInputSpec>;
}

/** Resolves an ONNX spec to its file and input convention ('faceplugin' or FILE.onnx + sidecar). */
export function resolveOnnxSpec(
  spec: string,
  override?: Partial<FaceInputSpec>,
): { file: string; input: FaceInputSpec } {
  if (spec === 'faceplugin') {
    return { file: FACEPLUGIN_MODEL, input: parseFaceInputSpec(override, 'input options', FACEPLUGIN_INPUT) };
  }
  if (!fs.existsSync(spec)) throw new FaceMaeError(`model file not found: ${spec}`, 'E_NOT_FOUND');
  let input = parseFaceInputSpec(undefined, spec);
  for (const side of [`${spec}.json`, spec.replace(/\.onnx$/i, '.json')]) {
    if (side !== spec && fs.existsSync(side)) {
      let raw: unknown;
      try {
        raw = JSON.parse(fs.readFileSync(side, 'utf8'));
      } catch (e) {
        throw new FaceMaeError(`${side} is not valid JSON: ${(e as Error).message}`, 'E_CONFIG');
      }
      input = parseFaceInputSpec(raw, side);
      break;
    }
  }
  return { file: spec, input: parseFaceInputSpec(override, 'input options', input) };
}

/** True when `spec` names an ONNX model rather than a run folder. */
export const isOnnxSpec = (spec: string): boolean => spec === 'faceplugin' || /\.onnx$/i.test(spec);

/** Imports an ONNX face model into tfjs as a frozen FaceNet. */
export async function loadOnnxFaceNet(spec: string, opts: LoadFaceNetOptions = {}): Promise<FaceNet> {
  await initEngine();
  const { file, input } = resolveOnnxSpec(spec, opts.input);
  let graph;
  try {
    graph = parseOnnxModel(fs.readFileSync(file));
  } catch (e) {
    throw new FaceMaeError(`cannot read ONNX model ${file}: ${(e as Error).message}`, 'E_BAD_MODEL');
  }
  let imported;
  try {
    imported = importOnnxGraph(graph, input);
  } catch (e) {
    throw new FaceMaeError(
      `cannot import ONNX model ${file} into tfjs: ${(e as Error).message}`,
      'E_BAD_MODEL',
    );
  }
  const shape = graph.inputs[0]?.shape ?? [];
  const size = shape[2] && shape[2] > 0 ? shape[2] : input.inputSize;
  let disposed = false;
  return {
    inputSize: size,
    embeddingDim: imported.embeddingDim,
    apply(x: tf.Tensor4D): tf.Tensor2D {
      if (disposed) throw new FaceMaeError(`face net ${file} was disposed`);
      return tf.tidy(() => imported.run(x));
    },
    trainableVariables: () => [],
    dispose() {
      disposed = true;
      imported.dispose();
    },
  };
}

/** 'faceplugin' | FILE.onnx | RUN_DIR -> a differentiable tfjs FaceNet. */
export async function loadFaceNet(spec: string, opts: LoadFaceNetOptions = {}): Promise<FaceNet> {
  if (isOnnxSpec(spec)) return loadOnnxFaceNet(spec, opts);
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) return loadRunFaceNet(spec);
  throw new FaceMaeError(
    `cannot load face model "${spec}": expected 'faceplugin', a .onnx file, or a train-fr run folder`,
    'E_NOT_FOUND',
  );
}
