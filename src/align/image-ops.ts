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
  // Column taps and weights are the same for every row: compute them once.
  const sx = W / outW;
  const sy = H / outH;
  const cx0 = new Int32Array(outW);
  const cx1 = new Int32Array(outW);
  const cwx = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const fx = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(Math.floor(fx), W - 1);
    cx0[x] = x0 * 3;
    cx1[x] = Math.min(x0 + 1, W - 1) * 3;
    cwx[x] = Math.min(1, fx - x0);
  }
  for (let y = 0; y < outH; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(Math.floor(fy), H - 1);
    const r0 = y0 * W * 3;
    const r1 = Math.min(y0 + 1, H - 1) * W * 3;
    const wy = Math.min(1, fy - y0);
    let q = y * outW * 3;
    for (let x = 0; x < outW; x++) {
      const wx = cwx[x] as number;
      const a = cx0[x] as number;
      const b = cx1[x] as number;
      for (let c = 0; c < 3; c++) {
        const top = (data[r0 + a + c] as number) * (1 - wx) + (data[r0 + b + c] as number) * wx;
        const bot = (data[r1 + a + c] as number) * (1 - wx) + (data[r1 + b + c] as number) * wx;
        out[q++] = Math.round(top + (bot - top) * wy);
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
  const inv = 1 / std;
  const [p0, p2] = order === 'rgb' ? [0, 2 * n] : [2 * n, 0];
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[p0 + i] = ((d[j] as number) - mean) * inv;
    out[n + i] = ((d[j + 1] as number) - mean) * inv;
    out[p2 + i] = ((d[j + 2] as number) - mean) * inv;
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
