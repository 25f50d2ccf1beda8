/**
 * The faceplugin detection pipeline over any ONNX runtime: onnxruntime-node for `facemae align`
 * (faceplugin.ts) and onnxruntime-web in the browser app (web/), so both align a photo the same way.
 * No Node imports here. Models: fr_detect.onnx (Ultra-Light RFB-320, [1,3,240,320] RGB (x − 127)/128,
 * boxes decoded in-graph) and fr_landmark.onnx (64×64 grayscale crop /256 -> [1,136] fractions of the
 * crop), reduced to the five insightface points. Conventions follow the faceplugin JS SDK
 * (lib/fr_detect.js, lib/fr_landmark.js), except that the photo is letterboxed instead of stretched to
 * 320×240: stretching squeezes faces on wide photos until the detector misses them, and on LFW both
 * give the same crops.
 */
import type { RgbImage } from '../types.js';
import { cropImage, resizeBilinear, toGray, toNchw } from './image-ops.js';
import { letterbox } from './letterbox.js';
import { nms } from './nms.js';
import type { FaceDetection, FaceDetector } from './types.js';
import { decodeUltraface, fiveFrom68, landmarkCropRect } from './ultraface-decode.js';

/** One float32 model behind whichever runtime: named inputs (data, dims) -> named outputs. */
export interface OnnxRunner {
  run(feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, Float32Array>>;
  release(): Promise<void>;
}

export const FACEPLUGIN_FILES = { detect: 'fr_detect.onnx', landmark: 'fr_landmark.onnx' } as const;
/** Input and output names each model must have. */
export const FACEPLUGIN_IO = {
  detect: { inputs: ['input'], outputs: ['scores', 'boxes'] },
  landmark: { inputs: ['input'], outputs: ['output'] },
} as const;

export interface FacepluginThresholds {
  /** Face score threshold (the SDK uses 0.65). */
  threshold?: number;
  nmsThreshold?: number;
}

const DET_W = 320;
const DET_H = 240;
const LMK = 64;

function output(out: Record<string, Float32Array>, name: string): Float32Array {
  const v = out[name];
  if (!v) throw new Error(`faceplugin model output ${name} missing`);
  return v;
}

/** The detector over two opened models; dispose() releases both. */
export function facepluginDetectorFrom(
  det: OnnxRunner,
  lmk: OnnxRunner,
  opts: FacepluginThresholds = {},
): FaceDetector {
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
    const v = output(await lmk.run({ input: { data: gray, dims: [1, 1, LMK, LMK] } }), 'output');
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
      const out = await det.run({ input: { data: input, dims: [1, 3, DET_H, DET_W] } });
      const cands = decodeUltraface(
        output(out, 'scores'),
        output(out, 'boxes'),
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
