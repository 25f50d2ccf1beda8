/**
 * Greedy non-maximum suppression as insightface's SCRFD.nms: boxes sorted by score, areas counted
 * with the +1 pixel convention, a box is dropped when its IoU with a kept box exceeds `iouThreshold`.
 */
import type { Box } from './types.js';

/** boxes, scores (same length) -> indices kept, best score first. */
export function nms(boxes: readonly Box[], scores: ArrayLike<number>, iouThreshold: number): number[] {
  const order = boxes.map((_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const area = boxes.map(([x1, y1, x2, y2]) => (x2 - x1 + 1) * (y2 - y1 + 1));
  const suppressed = new Uint8Array(boxes.length);
  const keep: number[] = [];
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi] as number;
    if (suppressed[i]) continue;
    keep.push(i);
    const a = boxes[i] as Box;
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj] as number;
      if (suppressed[j]) continue;
      const b = boxes[j] as Box;
      const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + 1);
      const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + 1);
      const inter = w * h;
      const iou = inter / ((area[i] as number) + (area[j] as number) - inter);
      if (iou > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}
