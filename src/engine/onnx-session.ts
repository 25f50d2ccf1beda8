/** Thin onnxruntime-node helpers: the one session opener (detectors, ONNX embedders) and tensor I/O. */
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { FaceMaeError } from '../core/errors.js';

export type { InferenceSession } from 'onnxruntime-node';

/**
 * Opens an ONNX model; a missing or unreadable file is a FaceMaeError naming it (`what` says
 * which model, e.g. 'SCRFD detector'). `threads`: intra-op threads (default: onnxruntime's choice).
 */
export async function openSession(
  file: string,
  what: string,
  threads?: number,
): Promise<ort.InferenceSession> {
  if (!fs.existsSync(file)) throw new FaceMaeError(`${what} model not found: ${file}`, 'E_NOT_FOUND');
  try {
    return await ort.InferenceSession.create(
      file,
      threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {},
    );
  } catch (e) {
    throw new FaceMaeError(`cannot load ${what} model ${file}: ${(e as Error).message}`, 'E_BAD_MODEL', {
      cause: e,
    });
  }
}

/** Checks that a session has the expected input/output names (catches the wrong model file early). */
export function expectNames(
  s: ort.InferenceSession,
  file: string,
  inputs: string[],
  outputs: string[],
): void {
  const missing = [
    ...inputs.filter((n) => !s.inputNames.includes(n)),
    ...outputs.filter((n) => !s.outputNames.includes(n)),
  ];
  if (missing.length > 0) {
    throw new FaceMaeError(
      `${file} does not look like the expected model: missing tensors ${missing.join(', ')} (has inputs ${s.inputNames.join(', ')}; outputs ${s.outputNames.join(', ')})`,
      'E_BAD_MODEL',
    );
  }
}

export function tensor(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function outputData(out: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const t = out[name];
  if (!t) throw new FaceMaeError(`ONNX output ${name} missing`, 'E_BAD_MODEL');
  return t.data as Float32Array;
}
