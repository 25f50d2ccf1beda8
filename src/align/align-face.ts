/**
 * One photo -> one 112×112 face, as insightface's `norm_crop`: detect, pick a face, fit a
 * similarity from its five landmarks to ARCFACE_DST (Umeyama), warp bilinearly with a black border.
 * Tight face crops defeat detectors trained on whole scenes, so when nothing is found the photo is
 * padded with black and searched again, with coordinates mapped back.
 */
import type { RgbImage } from '../types.js';
import { padImage } from './image-ops.js';
import { pickFace } from './pick-face.js';
import { ALIGNED_SIZE, ARCFACE_DST } from './template.js';
import type { Affine, FaceDetection, FaceDetector, PickMode } from './types.js';
import { estimateSimilarity } from './umeyama.js';
import { warpAffine } from './warp.js';

export interface AlignPhotoOptions {
  pick?: PickMode;
  /** Black border added on each side, as a fraction of the longer side, for the retry; 0 disables it. */
  padRetry?: number;
}

export interface AlignedFace {
  image: RgbImage;
  face: FaceDetection;
  /** photo -> aligned-crop pixels */
  transform: Affine;
  /** true when the face was only found on the padded photo */
  padded: boolean;
}

/** 5 landmarks (photo pixels) -> the 112×112 crop and the transform used. */
export function alignToTemplate(
  img: RgbImage,
  landmarks: ReadonlyArray<readonly [number, number]>,
  size = ALIGNED_SIZE,
): { image: RgbImage; transform: Affine } {
  const k = size / ALIGNED_SIZE;
  const dst = ARCFACE_DST.map(([x, y]) => [x * k, y * k] as [number, number]);
  const transform = estimateSimilarity(landmarks, dst);
  return { image: warpAffine(img, transform, size, size), transform };
}

/** Detects (with the padded retry) and picks one face; undefined when there is none. */
export async function findFace(
  detector: FaceDetector,
  img: RgbImage,
  opts: AlignPhotoOptions = {},
): Promise<{ face: FaceDetection; padded: boolean } | undefined> {
  const pick = opts.pick ?? 'largest';
  const direct = pickFace(await detector.detect(img), img.width, img.height, pick);
  if (direct) return { face: direct, padded: false };
  const frac = opts.padRetry ?? 0.25;
  if (!(frac > 0)) return undefined;
  const pad = Math.max(1, Math.round(frac * Math.max(img.width, img.height)));
  const faces = (await detector.detect(padImage(img, pad))).map((f): FaceDetection => ({
    score: f.score,
    box: [f.box[0] - pad, f.box[1] - pad, f.box[2] - pad, f.box[3] - pad],
    landmarks: f.landmarks.map(([x, y]) => [x - pad, y - pad] as [number, number]),
  }));
  const face = pickFace(faces, img.width, img.height, pick);
  return face ? { face, padded: true } : undefined;
}

/** The whole per-photo pipeline; undefined when no face is found. */
export async function alignPhoto(
  detector: FaceDetector,
  img: RgbImage,
  opts: AlignPhotoOptions = {},
): Promise<AlignedFace | undefined> {
  const found = await findFace(detector, img, opts);
  if (!found) return undefined;
  const { image, transform } = alignToTemplate(img, found.face.landmarks);
  return { image, transform, face: found.face, padded: found.padded };
}
