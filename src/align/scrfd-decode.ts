/**
 * SCRFD output decoding, following insightface python-package/insightface/model_zoo/scrfd.py
 * (`forward`: anchor centres on each stride's grid, `distance2bbox`, `distance2kps`, score threshold).
 * Anchors are laid out row-major over the grid with `numAnchors` consecutive copies per cell.
 */
import type { Box } from './types.js';

export interface ScrfdLevel {
  stride: number;
  /** [K·A] scores */
  scores: Float32Array;
  /** [K·A, 4] distances (left, top, right, bottom) in stride units */
  boxes: Float32Array;
  /** [K·A, 10] keypoint offsets in stride units */
  kps: Float32Array;
}

export interface RawDetection {
  box: Box;
  score: number;
  landmarks: Array<[number, number]>;
}

/** Levels for a inputW × inputH input -> candidates with score ≥ threshold, in input pixels. */
export function decodeScrfd(
  levels: readonly ScrfdLevel[],
  inputW: number,
  inputH: number,
  threshold: number,
  numAnchors = 2,
): RawDetection[] {
  const out: RawDetection[] = [];
  for (const { stride, scores, boxes, kps } of levels) {
    const w = Math.floor(inputW / stride);
    const h = Math.floor(inputH / stride);
    const count = w * h * numAnchors;
    if (scores.length !== count) {
      throw new Error(
        `SCRFD stride ${stride}: expected ${count} scores for a ${inputW}x${inputH} input, got ${scores.length}`,
      );
    }
    for (let k = 0; k < count; k++) {
      const score = scores[k] as number;
      if (!(score >= threshold)) continue;
      const cell = Math.floor(k / numAnchors);
      const cx = (cell % w) * stride;
      const cy = Math.floor(cell / w) * stride;
      const b = k * 4;
      const box: Box = [
        cx - (boxes[b] as number) * stride,
        cy - (boxes[b + 1] as number) * stride,
        cx + (boxes[b + 2] as number) * stride,
        cy + (boxes[b + 3] as number) * stride,
      ];
      const landmarks: Array<[number, number]> = [];
      for (let p = 0; p < 5; p++) {
        landmarks.push([
          cx + (kps[k * 10 + 2 * p] as number) * stride,
          cy + (kps[k * 10 + 2 * p + 1] as number) * stride,
        ]);
      }
      out.push({ box, score, landmarks });
    }
  }
  return out;
}
