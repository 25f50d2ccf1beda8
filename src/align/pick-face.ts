/** Chooses the one face to align when a photo holds several. */
import type { FaceDetection, PickMode } from './types.js';

/**
 * 'largest': largest box area; 'central': box centre nearest the image centre (ties: larger box).
 * Returns undefined for an empty list.
 */
export function pickFace(
  faces: readonly FaceDetection[],
  width: number,
  height: number,
  mode: PickMode,
): FaceDetection | undefined {
  let best: FaceDetection | undefined;
  let bestKey = -Infinity;
  for (const f of faces) {
    const [x1, y1, x2, y2] = f.box;
    const area = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
    let key: number;
    switch (mode) {
      case 'largest':
        key = area;
        break;
      case 'central': {
        const dx = (x1 + x2) / 2 - width / 2;
        const dy = (y1 + y2) / 2 - height / 2;
        // distance dominates; area only breaks ties
        key = -(dx * dx + dy * dy) + area * 1e-9;
        break;
      }
    }
    if (key > bestKey) {
      bestKey = key;
      best = f;
    }
  }
  return best;
}
