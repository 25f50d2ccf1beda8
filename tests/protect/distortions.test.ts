import { describe, expect, it } from 'vitest';
import { randomMasking } from '../../src/models/mae/masking.js';
import { createRng } from '../../src/core/rng.js';
import {
  addGaussianNoise,
  applyDistortion,
  checkDistortionSpec,
  gaussianBlur,
  maskedCount,
  maskPatches,
  pixelate,
  PIXNOISE_STD_PER_BLOCK,
} from '../../src/protect/distortions.js';
import type { RgbImage } from '../../src/types.js';

function constant(w: number, h: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { data, width: w, height: h };
}

function ramp(w: number, h: number, seed = 1): RgbImage {
  const r = createRng(seed);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = r.int(256);
  return { data, width: w, height: h };
}

describe('gaussianBlur', () => {
  it('keeps a constant image constant', () => {
    const img = constant(40, 24, [10, 200, 77]);
    const out = gaussianBlur(img, 3.5);
    expect(Array.from(out.data)).toEqual(Array.from(img.data));
  });
  it('reduces the variance of noise and preserves the mean', () => {
    const img = ramp(64, 64);
    const out = gaussianBlur(img, 2);
    const stats = (d: Uint8Array) => {
      const m = d.reduce((a, b) => a + b, 0) / d.length;
      return [m, d.reduce((a, b) => a + (b - m) ** 2, 0) / d.length] as const;
    };
    const [m0, v0] = stats(img.data);
    const [m1, v1] = stats(out.data);
    expect(Math.abs(m1 - m0)).toBeLessThan(2);
    expect(v1).toBeLessThan(v0 / 10);
  });
  it('sigma 0 is the identity', () => {
    const img = ramp(8, 8);
    expect(gaussianBlur(img, 0).data).toEqual(img.data);
  });
});

describe('pixelate', () => {
  it('yields constant blocks equal to the block mean, partial blocks at the edge', () => {
    const img = ramp(10, 7);
    const out = pixelate(img, 4);
    for (let by = 0; by < 7; by += 4) {
      for (let bx = 0; bx < 10; bx += 4) {
        for (let c = 0; c < 3; c++) {
          const vals: number[] = [];
          const src: number[] = [];
          for (let y = by; y < Math.min(7, by + 4); y++)
            for (let x = bx; x < Math.min(10, bx + 4); x++) {
              vals.push(out.data[(y * 10 + x) * 3 + c]!);
              src.push(img.data[(y * 10 + x) * 3 + c]!);
            }
          expect(new Set(vals).size).toBe(1);
          expect(vals[0]).toBe(Math.round(src.reduce((a, b) => a + b, 0) / src.length));
        }
      }
    }
  });
  it('refuses a non-integer block size, naming it', () => {
    expect(() => pixelate(ramp(4, 4), 2.5)).toThrow(/block size must be a positive integer, got 2.5/);
  });
});

describe('addGaussianNoise', () => {
  it('is seeded and has the requested std and zero mean', () => {
    const img = constant(128, 128, [128, 128, 128]);
    const a = addGaussianNoise(img, 12, createRng(5));
    const b = addGaussianNoise(img, 12, createRng(5));
    const c = addGaussianNoise(img, 12, createRng(6));
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toEqual(c.data);
    const n = a.data.length;
    const mean = a.data.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(a.data.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    expect(Math.abs(mean - 128)).toBeLessThan(0.3);
    // Rounding adds variance 1/12.
    expect(Math.abs(std - Math.sqrt(144 + 1 / 12))).toBeLessThan(0.2);
  });
  it('std 0 changes nothing', () => {
    const img = ramp(16, 16);
    expect(addGaussianNoise(img, 0, createRng(1)).data).toEqual(img.data);
  });
});

describe('maskPatches', () => {
  it('removes exactly L - floor(L(1-r)) patches and leaves the rest untouched', () => {
    const img = ramp(112, 112, 3);
    for (const ratio of [0, 0.25, 0.5, 0.75, 0.9]) {
      const { image, mask } = maskPatches(img, ratio, createRng(9), { patchSize: 16, fill: 0 });
      const removed = mask.reduce((a, b) => a + b, 0);
      expect(removed).toBe(maskedCount(49, ratio));
      for (let gy = 0; gy < 7; gy++)
        for (let gx = 0; gx < 7; gx++) {
          const off = ((gy * 16 + 5) * 112 + gx * 16 + 7) * 3;
          if (mask[gy * 7 + gx]) expect(Array.from(image.data.subarray(off, off + 3))).toEqual([0, 0, 0]);
          else expect(image.data.subarray(off, off + 3)).toEqual(img.data.subarray(off, off + 3));
        }
    }
    expect(maskedCount(49, 0.75)).toBe(37);
  });
  it('draws the MAE masking itself: same noise, same patches, at least one kept', () => {
    const img = ramp(112, 112, 3);
    for (const ratio of [0.5, 0.75, 0.99]) {
      const { mask } = maskPatches(img, ratio, createRng(4), { patchSize: 16 });
      expect(Array.from(mask)).toEqual(Array.from(randomMasking(1, 49, ratio, createRng(4)).mask));
    }
    expect(maskedCount(49, 0.99)).toBe(48);
    expect(() => maskPatches(img, 1, createRng(4))).toThrow(/mask ratio must be in \[0, 1\), got 1/);
  });
  it('is seeded: equal seeds mask the same patches', () => {
    const img = ramp(32, 32);
    const a = maskPatches(img, 0.5, createRng(1), { patchSize: 8 }).mask;
    expect(maskPatches(img, 0.5, createRng(1), { patchSize: 8 }).mask).toEqual(a);
    expect(maskPatches(img, 0.5, createRng(2), { patchSize: 8 }).mask).not.toEqual(a);
  });
  it('refuses a patch size that does not divide the image', () => {
    expect(() => maskPatches(ramp(30, 30), 0.5, createRng(1), { patchSize: 16 })).toThrow(
      /patch size 16 must .*30×30/,
    );
  });
});

describe('applyDistortion / checkDistortionSpec', () => {
  it('dispatches on the method and validates strength ranges', () => {
    const img = ramp(16, 16);
    expect(
      applyDistortion(img, { method: 'pixelate', strength: 16 }, createRng(1)).data.subarray(0, 3),
    ).toEqual(pixelate(img, 16).data.subarray(0, 3));
    expect(() => checkDistortionSpec({ method: 'mask', strength: 1.5 })).toThrow(
      /mask ratio must be in \[0, 1\), got 1.5/,
    );
    expect(() => checkDistortionSpec({ method: 'swirl' as never, strength: 1 })).toThrow(
      /unknown distortion method "swirl"/,
    );
    expect(() => checkDistortionSpec({ method: 'noise', strength: -1 })).toThrow(/noise std/);
  });
});

describe('pixnoise (pixelate, then noise)', () => {
  it('is pixelation of block B followed by noise of std 5·B from the same stream, and refuses a block of 0', () => {
    const img = ramp(32, 32);
    const out = applyDistortion(img, { method: 'pixnoise', strength: 8 }, createRng(5));
    const ref = addGaussianNoise(pixelate(img, 8), PIXNOISE_STD_PER_BLOCK * 8, createRng(5));
    expect(out.data).toEqual(ref.data);
    expect(out.data).not.toEqual(pixelate(img, 8).data);
    expect(() => checkDistortionSpec({ method: 'pixnoise', strength: 0 })).toThrow(/pixnoise block size/);
  });
});
