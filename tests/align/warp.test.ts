import { describe, expect, it } from 'vitest';
import { warpAffine } from '../../src/align/index.js';
import type { RgbImage } from '../../src/types.js';

/** w×h image whose pixel (x, y) is (x·10, y·10, 7). */
function ramp(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x * 10, y * 10, 7], (y * w + x) * 3);
  return { data, width: w, height: h };
}
const px = (img: RgbImage, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe('warpAffine', () => {
  it('identity reproduces the image', () => {
    const img = ramp(9, 7);
    const out = warpAffine(img, [1, 0, 0, 0, 1, 0], 9, 7);
    expect(Array.from(out.data)).toEqual(Array.from(img.data));
  });

  it('an integer translation shifts pixels and fills the border with 0', () => {
    const img = ramp(8, 8);
    // forward map: output = source + (2, 1)
    const out = warpAffine(img, [1, 0, 2, 0, 1, 1], 8, 8);
    expect(px(out, 5, 4)).toEqual(px(img, 3, 3));
    expect(px(out, 0, 0)).toEqual([0, 0, 0]);
    expect(px(out, 1, 7)).toEqual([0, 0, 0]);
  });

  it('a half-pixel shift interpolates bilinearly', () => {
    const img = ramp(8, 8);
    const out = warpAffine(img, [1, 0, -0.5, 0, 1, -0.5], 8, 8);
    // output (2,3) samples source (2.5, 3.5): mean of x 20,30 and y 30,40
    expect(px(out, 2, 3)).toEqual([25, 35, 7]);
    // output (7,0) samples (7.5, 0.5): the two taps at x = 8 are outside and count as 0 (cv2
    // BORDER_CONSTANT), so R = 70·0.5, G = (0 + 10)·0.25 = 2.5 -> 3, B = 7·0.5 = 3.5 -> 4
    expect(px(out, 7, 0)).toEqual([35, 3, 4]);
  });

  it('a 90° rotation about the centre maps corners to corners, at any output size', () => {
    const img = ramp(5, 5);
    // forward: (x, y) -> (4 − y, x)
    const out = warpAffine(img, [0, -1, 4, 1, 0, 0], 5, 5);
    expect(px(out, 4, 0)).toEqual(px(img, 0, 0));
    expect(px(out, 0, 0)).toEqual(px(img, 0, 4));
    expect(px(out, 2, 2)).toEqual(px(img, 2, 2));
    const small = warpAffine(img, [0.5, 0, 0, 0, 0.5, 0], 3, 2);
    expect(small.width).toBe(3);
    expect(small.height).toBe(2);
    expect(px(small, 1, 1)).toEqual(px(img, 2, 2));
  });
});
