/**
 * The simple face protections FaceMAE (Wang, Zhao et al. 2022, Sec. 4) is compared against:
 * mask-only (MAE random patch masking without reconstruction), Gaussian blur, pixelation and
 * additive Gaussian noise. Pure functions on `RgbImage`; randomness comes from an explicit `Rng`.
 */
import { FaceMaeError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { RgbImage } from '../types.js';
import { lenKeepFor, randomMasking } from '../models/mae/masking.js';

export const DISTORTION_METHODS = ['mask', 'blur', 'pixelate', 'noise', 'pixnoise'] as const;
export type DistortionMethod = (typeof DISTORTION_METHODS)[number];

export interface DistortionSpec {
  method: DistortionMethod;
  /**
   * mask: ratio in [0,1]; blur: sigma in px; pixelate: block size in px; noise: std in [0,255]
   * units; pixnoise: block size B of a pixelation followed by Gaussian noise of std PIXNOISE_STD_PER_BLOCK·B.
   */
  strength: number;
  /** mask only: patch side in px (default 16, MAE's); the image side must be a multiple of it. */
  patchSize?: number;
  /** mask only: value of removed pixels (default 128, mid-gray; 0 gives black patches). */
  fill?: number;
}

export const DEFAULT_PATCH_SIZE = 16;
/**
 * pixnoise's noise std per pixel of block size (8 → std 40, 16 → std 80): one number sets both,
 * so the family is one curve, pixelation and noise rising together as the obfuscation
 * literature pairs them.
 */
export const PIXNOISE_STD_PER_BLOCK = 5;
export const DEFAULT_MASK_FILL = 128;

/** Number of patches MAE removes at `ratio`: L minus the kept `lenKeepFor(L, ratio)` (models/mae/masking.ts). */
export function maskedCount(numPatches: number, ratio: number): number {
  return numPatches - lenKeepFor(numPatches, ratio);
}

/**
 * MAE random masking of one image's patch grid: the MAE's own routine (models/mae/masking.ts:
 * noise from `rng`, argsort, ties by index, at least one patch kept), so the mask-only baseline
 * removes the patches the MAE's encoder would not see. Returns the mask [L], 1 = removed.
 */
export function randomPatchMask(numPatches: number, ratio: number, rng: Rng): Uint8Array {
  return Uint8Array.from(randomMasking(1, numPatches, ratio, rng).mask);
}

/** Checks that the patch side `p` tiles `img`; errors name both. */
function checkPatchSize(img: RgbImage, p: number): void {
  if (!Number.isInteger(p) || p < 1 || img.width % p !== 0 || img.height % p !== 0) {
    throw new FaceMaeError(
      `mask patch size ${p} must be a positive integer dividing the image size ${img.width}×${img.height}; pick e.g. 8, 14 or 16 for 112×112`,
      'E_BAD_VALUE',
    );
  }
}

/** The image with every patch where `mask` is 1 (row-major over the p×p grid) set to `fill`. */
export function fillPatches(
  img: RgbImage,
  mask: ArrayLike<number>,
  p: number,
  fill = DEFAULT_MASK_FILL,
): RgbImage {
  checkPatchSize(img, p);
  const gw = img.width / p;
  const gh = img.height / p;
  const out = new Uint8Array(img.data);
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      if (!mask[gy * gw + gx]) continue;
      for (let y = gy * p; y < (gy + 1) * p; y++)
        out.fill(fill, (y * img.width + gx * p) * 3, (y * img.width + (gx + 1) * p) * 3);
    }
  }
  return { data: out, width: img.width, height: img.height };
}

/** Mask-only protection: removed patches are set to `fill`. Returns the image and the patch mask (1 = removed). */
export function maskPatches(
  img: RgbImage,
  ratio: number,
  rng: Rng,
  opts: { patchSize?: number; fill?: number } = {},
): { image: RgbImage; mask: Uint8Array } {
  const p = opts.patchSize ?? DEFAULT_PATCH_SIZE;
  const fill = opts.fill ?? DEFAULT_MASK_FILL;
  checkPatchSize(img, p);
  checkRange('mask fill', fill, 0, 255);
  const mask = randomPatchMask((img.width / p) * (img.height / p), ratio, rng);
  return { image: fillPatches(img, mask, p, fill), mask };
}

/** 1-D Gaussian taps for sigma, radius ceil(3 sigma), normalised to sum 1. */
export function gaussianKernel(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + r] = v;
    s += v;
  }
  for (let i = 0; i < k.length; i++) k[i] = (k[i] as number) / s;
  return k;
}

/** Separable Gaussian blur with replicated borders (so a constant image stays constant). sigma 0 = copy. */
export function gaussianBlur(img: RgbImage, sigma: number): RgbImage {
  checkRange('blur sigma', sigma, 0, 1000);
  const { width: w, height: h } = img;
  if (sigma === 0) return { data: new Uint8Array(img.data), width: w, height: h };
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const tmp = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) {
          const xx = Math.min(w - 1, Math.max(0, x + i));
          s += (k[i + r] as number) * (img.data[(y * w + xx) * 3 + c] as number);
        }
        tmp[(y * w + x) * 3 + c] = s;
      }
    }
  }
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) {
          const yy = Math.min(h - 1, Math.max(0, y + i));
          s += (k[i + r] as number) * (tmp[(yy * w + x) * 3 + c] as number);
        }
        out[(y * w + x) * 3 + c] = clampByte(s);
      }
    }
  }
  return { data: out, width: w, height: h };
}

/** Replaces each block×block cell (partial at the right/bottom edge) by its mean colour. */
export function pixelate(img: RgbImage, block: number): RgbImage {
  if (!Number.isInteger(block) || block < 1) {
    throw new FaceMaeError(`pixelate block size must be a positive integer, got ${block}`, 'E_BAD_VALUE');
  }
  const { width: w, height: h } = img;
  const out = new Uint8Array(w * h * 3);
  for (let by = 0; by < h; by += block) {
    for (let bx = 0; bx < w; bx += block) {
      const y1 = Math.min(h, by + block);
      const x1 = Math.min(w, bx + block);
      const sum = [0, 0, 0];
      for (let y = by; y < y1; y++)
        for (let x = bx; x < x1; x++)
          for (let c = 0; c < 3; c++) sum[c]! += img.data[(y * w + x) * 3 + c] as number;
      const n = (y1 - by) * (x1 - bx);
      const mean = sum.map((s) => clampByte(s / n));
      for (let y = by; y < y1; y++)
        for (let x = bx; x < x1; x++)
          for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = mean[c] as number;
    }
  }
  return { data: out, width: w, height: h };
}

/** Adds i.i.d. N(0, std²) per channel value (std in [0,255] units), rounded and clipped to [0,255]. */
export function addGaussianNoise(img: RgbImage, std: number, rng: Rng): RgbImage {
  checkRange('noise std', std, 0, 255);
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = clampByte((img.data[i] as number) + std * rng.normal());
  return { data: out, width: img.width, height: img.height };
}

/** Applies one protection; `rng` is used by mask and noise only. */
export function applyDistortion(img: RgbImage, spec: DistortionSpec, rng: Rng): RgbImage {
  switch (spec.method) {
    case 'mask':
      return maskPatches(img, spec.strength, rng, { patchSize: spec.patchSize, fill: spec.fill }).image;
    case 'blur':
      return gaussianBlur(img, spec.strength);
    case 'pixelate':
      return pixelate(img, spec.strength);
    case 'noise':
      return addGaussianNoise(img, spec.strength, rng);
    case 'pixnoise':
      return addGaussianNoise(
        pixelate(img, spec.strength),
        Math.min(255, PIXNOISE_STD_PER_BLOCK * spec.strength),
        rng,
      );
    default: {
      const never: never = spec.method;
      throw new FaceMaeError(
        `unknown distortion method "${String(never)}"; use one of ${DISTORTION_METHODS.join(', ')}`,
      );
    }
  }
}

/** Validates a spec (method name and strength range) with a message naming the bad value. */
export function checkDistortionSpec(spec: DistortionSpec): void {
  if (typeof spec.strength !== 'number')
    throw new FaceMaeError(`strength must be a number, got ${JSON.stringify(spec.strength)}`, 'E_BAD_VALUE', {
      key: 'strength',
    });
  if (!DISTORTION_METHODS.includes(spec.method)) {
    throw new FaceMaeError(
      `unknown distortion method "${spec.method}"; use one of ${DISTORTION_METHODS.join(', ')}`,
      'E_BAD_VALUE',
    );
  }
  const s = spec.strength;
  if (spec.method === 'mask')
    lenKeepFor(1, s); // the MAE's masking: a ratio in [0, 1)
  else if (spec.method === 'blur') checkRange('blur sigma (strength)', s, 0, 1000);
  else if (spec.method === 'noise') checkRange('noise std (strength)', s, 0, 255);
  else if (!Number.isInteger(s) || s < 1 || s > 4096)
    throw new FaceMaeError(
      `${spec.method} block size (strength) must be an integer in [1, 4096], got ${s}`,
      'E_BAD_VALUE',
    );
}

/**
 * Why a spec leaves (nearly) every pixel as it was, or undefined when it changes the image:
 * mask ratio 0 removes no patch; blur with a centre tap so close to 1 that both passes move no
 * value by half a grey level; pixelate blocks of 1 px; noise whose std leaves 95% of the values
 * unchanged after rounding (|N(0, std)| < 0.5 for std < 0.5 / 1.96).
 */
export function noProtectionReason(spec: DistortionSpec): string | undefined {
  const s = spec.strength;
  switch (spec.method) {
    case 'mask':
      return s === 0 ? 'mask ratio 0 removes no patch' : undefined;
    case 'blur': {
      if (s === 0) return 'blur sigma 0 leaves every pixel as it is';
      const k = gaussianKernel(s);
      const centre = k[(k.length - 1) / 2] as number;
      return 2 * 255 * (1 - centre) < 0.5
        ? `blur sigma ${s} moves no pixel by half a grey level (its centre tap is ${centre.toFixed(6)})`
        : undefined;
    }
    case 'pixelate':
      return s <= 1 ? `pixelate blocks of ${s} px leave every pixel as it is` : undefined;
    case 'noise':
      return s < 0.5 / 1.96 ? `noise std ${s} leaves over 95% of the values unchanged` : undefined;
    default:
      return undefined;
  }
}

/**
 * Refuses a spec that releases (near-)copies of the originals as the "protected" set, unless the
 * caller asked for it (`allow`: --allow-no-protection, e.g. for a no-protection reference).
 */
export function checkProtects(spec: DistortionSpec, allow: boolean | undefined): void {
  const why = noProtectionReason(spec);
  if (why !== undefined && !allow) {
    throw new FaceMaeError(
      `${spec.method} with strength ${spec.strength} protects nothing: ${why}, so the output would be a copy of the originals; raise --strength, or pass --allow-no-protection (config key allowNoProtection) to write it anyway`,
      'E_NO_PROTECTION',
      { key: 'strength' },
    );
  }
}

function checkRange(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isFinite(v) || v < lo || v > hi) {
    throw new FaceMaeError(`${name} must be a number in [${lo}, ${hi}], got ${v}`, 'E_BAD_VALUE');
  }
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
