/**
 * SCRFD face detector with keypoints (insightface, e.g. scrfd_500m_kps.onnx; non-commercial licence,
 * so never bundled) through onnxruntime-node. Pre/post-processing as insightface's scrfd.py:
 * letterbox to 640×640 (top-left), RGB, (x − 127.5) / 128, decode 3 strides × 2 anchors, NMS 0.4.
 */
import { FaceMaeError } from '../core/errors.js';
import type { RgbImage } from '../types.js';
import { letterbox } from './letterbox.js';
import { toNchw } from './image-ops.js';
import { nms } from './nms.js';
import { openSession, outputData, tensor } from '../engine/onnx-session.js';
import { decodeScrfd, type ScrfdLevel } from './scrfd-decode.js';
import type { FaceDetection, FaceDetector } from './types.js';

export interface ScrfdOptions {
  /** Score threshold (insightface default 0.5). */
  threshold?: number;
  nmsThreshold?: number;
  inputSize?: number;
  threads?: number;
}

const STRIDES = [8, 16, 32] as const;

export async function createScrfdDetector(file: string, opts: ScrfdOptions = {}): Promise<FaceDetector> {
  const session = await openSession(file, 'SCRFD detector', opts.threads ?? 1);
  const outNames = ['out0', 'out1', 'out2', 'out3', 'out4', 'out5', 'out6', 'out7', 'out8'];
  // Exported SCRFD graphs name outputs differently; fall back to positional order (scores, boxes, kps).
  let names: string[];
  if (outNames.every((n) => session.outputNames.includes(n))) names = outNames;
  else if (session.outputNames.length === 9) names = [...session.outputNames];
  else {
    const n = session.outputNames.length;
    await session.release();
    throw new FaceMaeError(
      `${file} is not a SCRFD model with keypoints: expected 9 outputs (scores, boxes, keypoints × 3 strides), got ${n}`,
      'E_BAD_MODEL',
    );
  }
  const inputName = session.inputNames[0] as string;
  const size = opts.inputSize ?? 640;
  const threshold = opts.threshold ?? 0.5;
  const nmsThreshold = opts.nmsThreshold ?? 0.4;
  return {
    name: 'scrfd',
    async detect(img: RgbImage): Promise<FaceDetection[]> {
      const { image, scale } = letterbox(img, size, size);
      const out = await session.run({
        [inputName]: tensor(toNchw(image, 127.5, 128, 'rgb'), [1, 3, size, size]),
      });
      const levels: ScrfdLevel[] = STRIDES.map((stride, i) => ({
        stride,
        scores: outputData(out, names[i] as string),
        boxes: outputData(out, names[i + 3] as string),
        kps: outputData(out, names[i + 6] as string),
      }));
      const cands = decodeScrfd(levels, size, size, threshold);
      const keep = nms(
        cands.map((c) => c.box),
        cands.map((c) => c.score),
        nmsThreshold,
      );
      return keep.map((i) => {
        const c = cands[i] as (typeof cands)[number];
        return {
          score: c.score,
          box: [c.box[0] / scale, c.box[1] / scale, c.box[2] / scale, c.box[3] / scale],
          landmarks: c.landmarks.map(([x, y]) => [x / scale, y / scale] as [number, number]),
        };
      });
    },
    async dispose() {
      await session.release();
    },
  };
}
