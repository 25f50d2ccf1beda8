/** Detector factory from a spec string: 'faceplugin' (bundled, default) or 'scrfd:FILE.onnx'. */
import { FaceMaeError } from '../core/errors.js';
import { createFacepluginDetector } from './faceplugin.js';
import { createScrfdDetector } from './scrfd.js';
import type { FaceDetector } from './types.js';

export const DETECTOR_SPECS = ['faceplugin', 'scrfd:FILE.onnx'] as const;

export interface DetectorOptions {
  /** Score threshold override (defaults: faceplugin 0.65, scrfd 0.5). */
  threshold?: number;
  threads?: number;
}

export async function createFaceDetector(spec: string, opts: DetectorOptions = {}): Promise<FaceDetector> {
  if (spec === 'faceplugin') return createFacepluginDetector(opts);
  if (spec.startsWith('faceplugin:'))
    return createFacepluginDetector({ ...opts, dir: spec.slice('faceplugin:'.length) });
  if (spec.startsWith('scrfd:') && spec.length > 'scrfd:'.length)
    return createScrfdDetector(spec.slice('scrfd:'.length), opts);
  throw new FaceMaeError(
    `unknown detector "${spec}": use "faceplugin" (bundled) or "scrfd:PATH/TO/scrfd_500m_kps.onnx"`,
    'E_CONFIG',
  );
}
