/**
 * Decoding of the faceplugin detector (Ultra-Light-Fast-Generic-Face-Detector RFB-320). Its ONNX
 * graph already applies the prior-box decoding: `boxes` are corner-form [x1, y1, x2, y2] as
 * fractions of the input (checked on real photos: values in about [-0.2, 1.2], x1 < x2), and
 * `scores` are softmaxed [background, face] pairs.
 */
import type { Box } from './types.js';

export interface ScoredBox {
  box: Box;
  score: number;
}

/** scores [N, 2], boxes [N, 4] (fractions) -> boxes in pixels of a width × height photo, score ≥ threshold. */
export function decodeUltraface(
  scores: Float32Array,
  boxes: Float32Array,
  width: number,
  height: number,
  threshold: number,
): ScoredBox[] {
  const n = scores.length / 2;
  const out: ScoredBox[] = [];
  for (let i = 0; i < n; i++) {
    const s = scores[2 * i + 1] as number;
    if (!(s >= threshold)) continue;
    out.push({
      score: s,
      box: [
        (boxes[4 * i] as number) * width,
        (boxes[4 * i + 1] as number) * height,
        (boxes[4 * i + 2] as number) * width,
        (boxes[4 * i + 3] as number) * height,
      ],
    });
  }
  return out;
}

/**
 * The faceplugin SDK's landmark crop: a square of side = box height centred on the box, clipped
 * to the photo -> integer [x, y, side_w, side_h]. Returns undefined when nothing is left.
 */
export function landmarkCropRect(
  box: Box,
  width: number,
  height: number,
): [number, number, number, number] | undefined {
  const side = box[3] - box[1];
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const x1 = Math.max(0, Math.floor(cx - side / 2));
  const y1 = Math.max(0, Math.floor(cy - side / 2));
  const x2 = Math.min(width, Math.ceil(cx + side / 2));
  const y2 = Math.min(height, Math.ceil(cy + side / 2));
  if (x2 - x1 < 4 || y2 - y1 < 4) return undefined;
  return [x1, y1, x2 - x1, y2 - y1];
}

/**
 * 68-point (iBUG) landmarks -> insightface's 5 points: eye centres (mean of 36–41, 42–47),
 * nose tip (30), mouth corners (48, 54). pts: 68 × [x, y].
 */
export function fiveFrom68(pts: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  if (pts.length !== 68) throw new Error(`fiveFrom68 expects 68 points, got ${pts.length}`);
  const mean = (a: number, b: number): [number, number] => {
    let x = 0;
    let y = 0;
    for (let i = a; i <= b; i++) {
      x += (pts[i] as readonly [number, number])[0];
      y += (pts[i] as readonly [number, number])[1];
    }
    return [x / (b - a + 1), y / (b - a + 1)];
  };
  const at = (i: number): [number, number] => [
    (pts[i] as readonly [number, number])[0],
    (pts[i] as readonly [number, number])[1],
  ];
  return [mean(36, 41), mean(42, 47), at(30), at(48), at(54)];
}
