/**
 * The reversal attacker's probe preprocessing: classical image restoration an attacker who knows
 * the protection would try before embedding a released face (Hanisch et al. 2023; Todt et al.,
 * PETS 2024: most obfuscations are partly reversible). Each protection family has a short list of
 * candidates; which one the attacker uses is chosen on the public set A (attack.ts), never on B.
 * Pure functions on `RgbImage`.
 */
import { FaceMaeError } from '../core/errors.js';
import { gaussianBlur } from '../protect/distortions.js';
import type { RgbImage } from '../types.js';
import type { ProtectionMethod } from './protection.js';

/** One preprocessing: `none`, a Gaussian smoothing, a median filter or an unsharp mask. */
export type Reversal =
  | { kind: 'none' }
  | { kind: 'gauss'; sigma: number }
  | { kind: 'median'; radius: number }
  | { kind: 'unsharp'; sigma: number; amount: number }
  /** the removed patches filled by FaceMAE's public reconstructor (inpaint.ts; batched, async) */
  | { kind: 'inpaint' };

/** A stable name, used in results and as part of the embedding cache key. */
export function reversalName(r: Reversal): string {
  switch (r.kind) {
    case 'none':
      return 'none';
    case 'gauss':
      return `gauss:${r.sigma}`;
    case 'median':
      return `median:${r.radius}`;
    case 'unsharp':
      return `unsharp:${r.sigma}:${r.amount}`;
    case 'inpaint':
      return 'inpaint:facemae';
  }
}

/**
 * The candidates for a protection family at a strength: denoising for noise (Gaussian, median),
 * deblurring for blur (unsharp masks at the known sigma), smoothing of the block edges for
 * pixelation (what bicubic upsampling of the block means does), and mild smoothing for masks and
 * FaceMAE (their seams and the decoder's blur), plus, for a masked release when FaceMAE's public
 * model is at hand, inpainting with it. `none` is always a candidate, so the reversal attacker is
 * never chosen worse than the frozen one on A.
 */
export function reversalCandidates(
  method: ProtectionMethod,
  strength: number,
  opts: { inpaint?: boolean } = {},
): Reversal[] {
  const none: Reversal = { kind: 'none' };
  switch (method) {
    case 'noise':
      return [
        none,
        ...[0.75, 1, 1.5, 2, 3].map((sigma): Reversal => ({ kind: 'gauss', sigma })),
        { kind: 'median', radius: 1 },
        { kind: 'median', radius: 2 },
      ];
    case 'blur':
      return [
        none,
        ...[0.5, 1, 2].map((amount): Reversal => ({ kind: 'unsharp', sigma: strength, amount })),
        { kind: 'unsharp', sigma: strength / 2, amount: 1 },
      ];
    case 'pixelate':
    case 'pixnoise':
      return [none, ...[0.25, 0.4, 0.6].map((f): Reversal => ({ kind: 'gauss', sigma: strength * f }))];
    case 'mask':
    case 'facemae':
      return [
        none,
        { kind: 'gauss', sigma: 1 },
        { kind: 'gauss', sigma: 2 },
        { kind: 'median', radius: 1 },
        // a masked face filled by the public reconstructor: at least FaceMAE's release
        ...(method === 'mask' && opts.inpaint ? [{ kind: 'inpaint' } as const] : []),
      ];
    case 'original':
      return [none];
  }
}

/** Applies a per-image preprocessing (a copy; `none` returns the input); `inpaint` is batched elsewhere. */
export function applyReversal(img: RgbImage, r: Reversal): RgbImage {
  switch (r.kind) {
    case 'none':
      return img;
    case 'gauss':
      return gaussianBlur(img, r.sigma);
    case 'median':
      return medianFilter(img, r.radius);
    case 'unsharp':
      return unsharpMask(img, r.sigma, r.amount);
    case 'inpaint':
      throw new FaceMaeError('the inpainting restoration runs on batches (embedForAttack with an inpainter)');
  }
}

/**
 * Per-channel median over a (2r+1)² window with replicated borders. Written here: no image
 * library on npm does a median on raw RGB buffers without a native build.
 */
export function medianFilter(img: RgbImage, radius: number): RgbImage {
  if (!Number.isInteger(radius) || radius < 1 || radius > 8)
    throw new FaceMaeError(`median radius must be an integer in [1, 8], got ${radius}`, 'E_BAD_VALUE');
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  const win = new Uint8Array((2 * radius + 1) ** 2);
  const mid = (win.length - 1) / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let n = 0;
        for (let dy = -radius; dy <= radius; dy++) {
          const yy = Math.min(h - 1, Math.max(0, y + dy));
          for (let dx = -radius; dx <= radius; dx++) {
            const xx = Math.min(w - 1, Math.max(0, x + dx));
            win[n++] = data[(yy * w + xx) * 3 + c] as number;
          }
        }
        win.sort();
        out[(y * w + x) * 3 + c] = win[mid] as number;
      }
    }
  }
  return { data: out, width: w, height: h };
}

/** Unsharp mask: x + amount·(x − G_sigma * x), clipped; the classical deblurring of a known blur. */
export function unsharpMask(img: RgbImage, sigma: number, amount: number): RgbImage {
  if (!Number.isFinite(amount) || amount < 0)
    throw new FaceMaeError(`unsharp amount must be ≥ 0, got ${amount}`, 'E_BAD_VALUE');
  const blurred = gaussianBlur(img, sigma);
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = (img.data[i] as number) + amount * ((img.data[i] as number) - (blurred.data[i] as number));
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return { data: out, width: img.width, height: img.height };
}
