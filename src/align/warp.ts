/**
 * Affine warp with bilinear sampling over RgbImage, like cv2.warpAffine(img, M, size,
 * flags=INTER_LINEAR, borderMode=BORDER_CONSTANT, borderValue=0) as insightface's norm_crop uses:
 * each output pixel is inverse-mapped to the source; taps outside the image count as 0.
 */
import type { RgbImage } from '../types.js';
import { invertAffine } from './umeyama.js';
import type { Affine } from './types.js';

/** img (H×W×3) and forward map M (source -> output pixels) -> outW × outH image. */
export function warpAffine(img: RgbImage, m: Affine, outW: number, outH: number): RgbImage {
  const inv = invertAffine(m);
  const { width: W, height: H, data: src } = img;
  const out = new Uint8Array(outW * outH * 3);
  const acc = [0, 0, 0];
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const sx = inv[0] * x + inv[1] * y + inv[2];
      const sy = inv[3] * x + inv[4] * y + inv[5];
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H) continue; // all four taps outside: stays 0
      const fx = sx - x0;
      const fy = sy - y0;
      acc[0] = acc[1] = acc[2] = 0;
      for (let j = 0; j < 2; j++) {
        const yy = y0 + j;
        if (yy < 0 || yy >= H) continue;
        const wy = j === 0 ? 1 - fy : fy;
        for (let i = 0; i < 2; i++) {
          const xx = x0 + i;
          if (xx < 0 || xx >= W) continue;
          const w = wy * (i === 0 ? 1 - fx : fx);
          const p = (yy * W + xx) * 3;
          acc[0] += w * (src[p] as number);
          acc[1] += w * (src[p + 1] as number);
          acc[2] += w * (src[p + 2] as number);
        }
      }
      const q = (y * outW + x) * 3;
      out[q] = clampByte(acc[0] as number);
      out[q + 1] = clampByte(acc[1] as number);
      out[q + 2] = clampByte(acc[2] as number);
    }
  }
  return { data: out, width: outW, height: outH };
}

const clampByte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
