/**
 * One photo -> one 112×112 face, as insightface's `norm_crop`: detect, pick a face, fit a
 * similarity from its five landmarks to ARCFACE_DST (Umeyama), warp bilinearly with a black border.
 * Tight face crops defeat detectors trained on whole scenes, so when nothing is found, or the face
 * fills the photo, it is padded with black and searched again, with coordinates mapped back.
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
  /** A face box this large a fraction of the photo's width or height marks a tight crop (default 0.75). */
  tightFraction?: number;
}

export interface FoundFace {
  face: FaceDetection;
  /** true when the face comes from the search on the padded photo */
  padded: boolean;
  /** faces detected in that search (more than 1: the pick rule chose) */
  faces: number;
}

export interface AlignedFace extends FoundFace {
  image: RgbImage;
  /** photo -> aligned-crop pixels */
  transform: Affine;
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

/** True when the box covers at least `frac` of the photo's width or height (the photo is a tight face crop). */
export function isTightBox(box: FaceDetection['box'], width: number, height: number, frac: number): boolean {
  return (box[2] - box[0]) / width >= frac || (box[3] - box[1]) / height >= frac;
}

/** True when the box reaches the photo's edge (within 1 px): the face, or the photo, is cut. */
export function touchesBorder(box: FaceDetection['box'], width: number, height: number): boolean {
  return box[0] <= 1 || box[1] <= 1 || box[2] >= width - 1 || box[3] >= height - 1;
}

/**
 * Detects and picks one face; undefined when there is none. The photo is searched again on a
 * padded canvas when nothing is found, when the face fills most of it (a tight crop: detectors
 * then return poor boxes and landmarks; the padded result wins) or when the picked face is cut by
 * the border (on tight crops the real face is often missed and a fragment found; the pick rule
 * chooses between the two).
 */
export async function findFace(
  detector: FaceDetector,
  img: RgbImage,
  opts: AlignPhotoOptions = {},
): Promise<FoundFace | undefined> {
  const pick = opts.pick ?? 'largest';
  const frac = opts.padRetry ?? 0.25;
  const tight = opts.tightFraction ?? 0.75;
  const all = await detector.detect(img);
  const direct = pickFace(all, img.width, img.height, pick);
  const isTight = direct !== undefined && isTightBox(direct.box, img.width, img.height, tight);
  const isCut = direct !== undefined && touchesBorder(direct.box, img.width, img.height);
  const asDirect = (f: FaceDetection): FoundFace => ({ face: f, padded: false, faces: all.length });
  if (direct && !isTight && !isCut) return asDirect(direct);
  if (!(frac > 0)) return direct ? asDirect(direct) : undefined;
  const pad = Math.max(1, Math.round(frac * Math.max(img.width, img.height)));
  const faces = (await detector.detect(padImage(img, pad))).map((f): FaceDetection => ({
    score: f.score,
    box: [f.box[0] - pad, f.box[1] - pad, f.box[2] - pad, f.box[3] - pad],
    landmarks: f.landmarks.map(([x, y]) => [x - pad, y - pad] as [number, number]),
  }));
  const face = pickFace(faces, img.width, img.height, pick);
  if (!face) return direct ? asDirect(direct) : undefined;
  const asPadded: FoundFace = { face, padded: true, faces: faces.length };
  if (!direct || isTight) return asPadded;
  // a face cut by the border: keep whichever of the two the pick rule prefers
  return pickFace([direct, face], img.width, img.height, pick) === face ? asPadded : asDirect(direct);
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
  return { image, transform, ...found };
}
