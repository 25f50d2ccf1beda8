/**
 * The bundled faceplugin detector (MIT, assets/models/faceplugin): Ultra-Light RFB-320 boxes
 * (fr_detect.onnx, [1,3,240,320] RGB (x − 127)/128, boxes decoded in-graph) + 68 landmarks
 * (fr_landmark.onnx, 64×64 grayscale crop /256 -> [1,136] fractions of the crop), reduced to the
 * five insightface points. Conventions follow the faceplugin JS SDK (lib/fr_detect.js, lib/fr_landmark.js),
 * except that the photo is letterboxed instead of stretched to 320×240: stretching squeezes faces on
 * wide photos until the detector misses them, and on LFW both give the same crops.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RgbImage } from '../types.js';
import { cropImage, resizeBilinear, toGray, toNchw } from './image-ops.js';
import { letterbox } from './letterbox.js';
import { nms } from './nms.js';
import { expectNames, openSession, outputData, tensor } from './onnx-session.js';
import type { FaceDetection, FaceDetector } from './types.js';
import { decodeUltraface, fiveFrom68, landmarkCropRect } from './ultraface-decode.js';

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

const DET_W = 320;
const DET_H = 240;
const LMK = 64;

export async function createFacepluginDetector(opts: FacepluginOptions = {}): Promise<FaceDetector> {
  const dir = opts.dir ?? FACEPLUGIN_DIR;
  const detFile = path.join(dir, 'fr_detect.onnx');
  const lmkFile = path.join(dir, 'fr_landmark.onnx');
  const det = await openSession(detFile, 'faceplugin detector', opts.threads);
  const lmk = await openSession(lmkFile, 'faceplugin landmark', opts.threads).catch(async (e: unknown) => {
    await det.release();
    throw e;
  });
  try {
    expectNames(det, detFile, ['input'], ['scores', 'boxes']);
    expectNames(lmk, lmkFile, ['input'], ['output']);
  } catch (e) {
    await det.release();
    await lmk.release();
    throw e;
  }
  const threshold = opts.threshold ?? 0.65;
  const nmsThreshold = opts.nmsThreshold ?? 0.4;

  async function landmarks(
    img: RgbImage,
    box: FaceDetection['box'],
  ): Promise<Array<[number, number]> | undefined> {
    const rect = landmarkCropRect(box, img.width, img.height);
    if (!rect) return undefined;
    const [x, y, w, h] = rect;
    const crop = resizeBilinear(cropImage(img, x, y, w, h), LMK, LMK);
    const gray = toGray(crop);
    for (let i = 0; i < gray.length; i++) gray[i] = Math.round(gray[i] as number) / 256;
    const out = await lmk.run({ input: tensor(gray, [1, 1, LMK, LMK]) });
    const v = outputData(out, 'output');
    const pts: Array<[number, number]> = [];
    for (let i = 0; i < 68; i++) pts.push([(v[2 * i] as number) * w + x, (v[2 * i + 1] as number) * h + y]);
    return fiveFrom68(pts);
  }

  return {
    name: 'faceplugin',
    async detect(img: RgbImage): Promise<FaceDetection[]> {
      // The SDK stretches the photo to 320×240; a letterbox keeps faces' aspect on wide or tall photos.
      const { image, scale } = letterbox(img, DET_W, DET_H);
      const input = toNchw(image, 127, 128, 'rgb');
      const out = await det.run({ input: tensor(input, [1, 3, DET_H, DET_W]) });
      const cands = decodeUltraface(
        outputData(out, 'scores'),
        outputData(out, 'boxes'),
        DET_W / scale,
        DET_H / scale,
        threshold,
      );
      const keep = nms(
        cands.map((c) => c.box),
        cands.map((c) => c.score),
        nmsThreshold,
      );
      const faces: FaceDetection[] = [];
      for (const i of keep) {
        const c = cands[i] as (typeof cands)[number];
        const five = await landmarks(img, c.box);
        if (five) faces.push({ box: c.box, score: c.score, landmarks: five });
      }
      return faces;
    },
    async dispose() {
      await det.release();
      await lmk.release();
    },
  };
}
