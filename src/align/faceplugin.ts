/**
 * The bundled faceplugin detector (MIT, assets/models/faceplugin) in onnxruntime-node; the pipeline
 * itself is in faceplugin-core.ts, shared with the browser app.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as ort from 'onnxruntime-node';
import {
  FACEPLUGIN_FILES,
  FACEPLUGIN_IO,
  facepluginDetectorFrom,
  type OnnxRunner,
} from './faceplugin-core.js';
import { expectNames, openSession, outputData, tensor } from '../engine/onnx-session.js';
import type { FaceDetector } from './types.js';

/** assets/models/faceplugin inside the installed package. */
export const FACEPLUGIN_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../assets/models/faceplugin',
);

export interface FacepluginOptions {
  /** Folder holding fr_detect.onnx and fr_landmark.onnx. */
  dir?: string;
  /** Face score threshold (the SDK uses 0.65). */
  threshold?: number;
  nmsThreshold?: number;
  threads?: number;
}

function runner(s: ort.InferenceSession, outputs: readonly string[]): OnnxRunner {
  return {
    async run(feeds) {
      const inputs: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) inputs[k] = tensor(v.data, v.dims);
      const out = await s.run(inputs);
      return Object.fromEntries(outputs.map((n) => [n, outputData(out, n)]));
    },
    release: () => s.release(),
  };
}

export async function createFacepluginDetector(opts: FacepluginOptions = {}): Promise<FaceDetector> {
  const dir = opts.dir ?? FACEPLUGIN_DIR;
  const detFile = path.join(dir, FACEPLUGIN_FILES.detect);
  const lmkFile = path.join(dir, FACEPLUGIN_FILES.landmark);
  const det = await openSession(detFile, 'faceplugin detector', opts.threads ?? 1);
  const lmk = await openSession(lmkFile, 'faceplugin landmark', opts.threads ?? 1).catch(
    async (e: unknown) => {
      await det.release();
      throw e;
    },
  );
  try {
    expectNames(det, detFile, [...FACEPLUGIN_IO.detect.inputs], [...FACEPLUGIN_IO.detect.outputs]);
    expectNames(lmk, lmkFile, [...FACEPLUGIN_IO.landmark.inputs], [...FACEPLUGIN_IO.landmark.outputs]);
  } catch (e) {
    await det.release();
    await lmk.release();
    throw e;
  }
  return facepluginDetectorFrom(
    runner(det, FACEPLUGIN_IO.detect.outputs),
    runner(lmk, FACEPLUGIN_IO.landmark.outputs),
    opts,
  );
}
