/** Small pure image operations on RgbImage (HWC RGB uint8) used by the detectors. */
import type { RgbImage } from '../types.js';

/**
 * Bilinear resize with half-pixel centres and edge clamping (cv2.resize INTER_LINEAR). Images more
 * than 2× larger than the target are first halved by 2×2 averaging, so big photos do not alias.
 */
export function resizeBilinear(img: RgbImage, outW: number, outH: number): RgbImage {
  let src = img;
  while (src.width >= 2 * outW && src.height >= 2 * outH) src = halve(src);
  const { width: W, height: H, data } = src;
  const out = new Uint8Array(outW * outH * 3);
  const sx = W / outW;
  const sy = H / outH;
  for (let y = 0; y < outH; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    let y0 = Math.floor(fy);
    if (y0 > H - 1) y0 = H - 1;
    const y1 = Math.min(y0 + 1, H - 1);
    const wy = Math.min(1, fy - y0);
    for (let x = 0; x < outW; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      let x0 = Math.floor(fx);
      if (x0 > W - 1) x0 = W - 1;
      const x1 = Math.min(x0 + 1, W - 1);
      const wx = Math.min(1, fx - x0);
      const p00 = (y0 * W + x0) * 3;
      const p01 = (y0 * W + x1) * 3;
      const p10 = (y1 * W + x0) * 3;
      const p11 = (y1 * W + x1) * 3;
      const q = (y * outW + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = (data[p00 + c] as number) * (1 - wx) + (data[p01 + c] as number) * wx;
        const bot = (data[p10 + c] as number) * (1 - wx) + (data[p11 + c] as number) * wx;
        out[q + c] = Math.round(top * (1 - wy) + bot * wy);
      }
    }
  }
  return { data: out, width: outW, height: outH };
}

/** 2×2 box average (drops an odd last row/column). */
export function halve(img: RgbImage): RgbImage {
  const w = Math.floor(img.width / 2);
  const h = Math.floor(img.height / 2);
  const out = new Uint8Array(w * h * 3);
  const W = img.width;
  const d = img.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (2 * y * W + 2 * x) * 3;
      const r = p + W * 3;
      const q = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        const s =
          (d[p + c] as number) + (d[p + 3 + c] as number) + (d[r + c] as number) + (d[r + 3 + c] as number);
        out[q + c] = (s + 2) >> 2;
      }
    }
  }
  return { data: out, width: w, height: h };
}

/** Places `img` at (left, top) on a black canvas of canvasW × canvasH (parts outside are cut). */
export function placeOnCanvas(
  img: RgbImage,
  canvasW: number,
  canvasH: number,
  left: number,
  top: number,
): RgbImage {
  const out = new Uint8Array(canvasW * canvasH * 3);
  for (let y = 0; y < img.height; y++) {
    const cy = y + top;
    if (cy < 0 || cy >= canvasH) continue;
    const x0 = Math.max(0, -left);
    const x1 = Math.min(img.width, canvasW - left);
    if (x1 <= x0) continue;
    out.set(
      img.data.subarray((y * img.width + x0) * 3, (y * img.width + x1) * 3),
      (cy * canvasW + x0 + left) * 3,
    );
  }
  return { data: out, width: canvasW, height: canvasH };
}

/** Pads every side by `pad` pixels of black. */
export function padImage(img: RgbImage, pad: number): RgbImage {
  return placeOnCanvas(img, img.width + 2 * pad, img.height + 2 * pad, pad, pad);
}

/** Crops [x, y, w, h] (integers, must lie inside the image). */
export function cropImage(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const out = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) {
    out.set(img.data.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  }
  return { data: out, width: w, height: h };
}

/**
 * HWC RGB uint8 -> [1, 3, H, W] float32 planes, (v − mean) / std, channel order RGB or BGR.
 */
export function toNchw(img: RgbImage, mean: number, std: number, order: 'rgb' | 'bgr' = 'rgb'): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const plane = order === 'rgb' ? c : 2 - c;
      out[plane * n + i] = ((d[i * 3 + c] as number) - mean) / std;
    }
  }
  return out;
}

/** Luma with the given RGB weights (default ITU-R 601, as cv2 RGB2GRAY), as float 0..255. */
export function toGray(
  img: RgbImage,
  weights: readonly [number, number, number] = [0.299, 0.587, 0.114],
): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] =
      weights[0] * (img.data[i * 3] as number) +
      weights[1] * (img.data[i * 3 + 1] as number) +
      weights[2] * (img.data[i * 3 + 2] as number);
  }
  return out;
}
