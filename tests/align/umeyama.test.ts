import { describe, expect, it } from 'vitest';
import {
  applyAffine,
  ARCFACE_DST,
  estimateSimilarity,
  invertAffine,
  type Affine,
} from '../../src/align/index.js';

describe('estimateSimilarity (Umeyama)', () => {
  it('recovers a known rotation + scale + translation exactly', () => {
    const th = (23 * Math.PI) / 180;
    const s = 1.7;
    const truth: Affine = [
      s * Math.cos(th),
      -s * Math.sin(th),
      12.5,
      s * Math.sin(th),
      s * Math.cos(th),
      -40.25,
    ];
    const src: Array<[number, number]> = [
      [10, 20],
      [200, 35],
      [90, 130],
      [15, 240],
      [180, 210],
    ];
    const dst = src.map(([x, y]) => applyAffine(truth, x, y));
    const m = estimateSimilarity(src, dst);
    m.forEach((v, i) => expect(v).toBeCloseTo(truth[i] as number, 9));
  });

  it('matches skimage-style SVD Umeyama on real landmarks (golden from NumPy)', () => {
    // Golden: NumPy port of skimage.transform._geometric._umeyama(src, dst, True), rows 0..1 of T,
    // with src = faceplugin five points of Antonio_Banderas_0001.jpg and dst = arcface_dst.
    const src: Array<[number, number]> = [
      [102.8, 113.3],
      [146.5, 111.5],
      [124.9, 137.5],
      [108.8, 161.0],
      [145.3, 159.3],
    ];
    const golden = [
      0.82977279755, -0.03484493044087, -43.48605983634, 0.03484493044087, 0.82977279755, -45.75841628072,
    ];
    const m = estimateSimilarity(src, ARCFACE_DST);
    m.forEach((v, i) => expect(v).toBeCloseTo(golden[i] as number, 8));
  });

  it('never returns a reflection, even for mirrored points', () => {
    const src: Array<[number, number]> = [
      [0, 0],
      [10, 0],
      [0, 5],
      [7, 9],
    ];
    const mirrored = src.map(([x, y]) => [-x, y] as [number, number]);
    const m = estimateSimilarity(src, mirrored);
    // rotation-scale block [a −b; b a] has determinant a² + b² ≥ 0
    expect(m[0]).toBeCloseTo(m[4], 12);
    expect(m[1]).toBeCloseTo(-m[3], 12);
    expect(m[0] * m[4] - m[1] * m[3]).toBeGreaterThanOrEqual(0);
  });

  it('refuses degenerate input with a clear message', () => {
    expect(() =>
      estimateSimilarity(
        [
          [1, 1],
          [1, 1],
        ],
        [
          [0, 0],
          [1, 1],
        ],
      ),
    ).toThrow(/all identical/);
    expect(() => estimateSimilarity([[1, 1]], [[0, 0]])).toThrow(/≥ 2 matching point pairs, got 1 and 1/);
  });

  it('invertAffine inverts', () => {
    const m: Affine = [0.8, -0.3, 5, 0.3, 0.8, -7];
    const inv = invertAffine(m);
    const [x, y] = applyAffine(inv, ...applyAffine(m, 13, -4));
    expect(x).toBeCloseTo(13, 10);
    expect(y).toBeCloseTo(-4, 10);
  });
});
