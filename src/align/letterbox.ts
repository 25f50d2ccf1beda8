/**
 * Aspect-keeping resize onto a fixed detector input, as insightface's SCRFD.detect: the photo is
 * scaled to fit and placed at the TOP-LEFT of a black canvas; detections map back by dividing by `scale`.
 */
import type { RgbImage } from '../types.js';
import { placeOnCanvas, resizeBilinear } from './image-ops.js';

export interface Letterboxed {
  image: RgbImage;
  /** input pixels per photo pixel. */
  scale: number;
}

export function letterbox(img: RgbImage, inW: number, inH: number): Letterboxed {
  const imRatio = img.height / img.width;
  const modelRatio = inH / inW;
  let newW: number;
  let newH: number;
  if (imRatio > modelRatio) {
    newH = inH;
    newW = Math.max(1, Math.trunc(newH / imRatio));
  } else {
    newW = inW;
    newH = Math.max(1, Math.trunc(newW * imRatio));
  }
  const scale = newH / img.height;
  const resized = resizeBilinear(img, newW, newH);
  return { image: placeOnCanvas(resized, inW, inH, 0, 0), scale };
}
