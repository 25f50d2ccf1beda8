import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/rng.js';
import {
  bootstrapAccuracyCi,
  pairedBootstrapDifference,
  unpairedDifference,
} from '../../src/eval/bootstrap.js';
import { kFoldAccuracy } from '../../src/eval/verification.js';

/** n pairs, each correct with probability p (seeded). */
const bernoulli = (n: number, p: number, seed: number) => {
  const rng = createRng(seed);
  return Uint8Array.from({ length: n }, () => (rng.next() < p ? 1 : 0));
};

describe('bootstrap confidence intervals over pairs', () => {
  it('brackets the accuracy with the binomial width (6,000 pairs at 90%: about ±0.76 points)', () => {
    const c = bernoulli(6000, 0.9, 1);
    const acc = c.reduce((a, b) => a + b, 0) / c.length;
    const [lo, hi] = bootstrapAccuracyCi(c, { seed: 3, samples: 1000 });
    expect(lo).toBeLessThan(acc);
    expect(hi).toBeGreaterThan(acc);
    const halfWidth = 1.96 * Math.sqrt((acc * (1 - acc)) / 6000);
    expect((hi - lo) / 2).toBeGreaterThan(halfWidth * 0.85);
    expect((hi - lo) / 2).toBeLessThan(halfWidth * 1.15);
    expect(bootstrapAccuracyCi(c, { seed: 3, samples: 1000 })).toEqual([lo, hi]);
  });

  it('calls a 3-point paired difference real and a re-labelled copy not', () => {
    const a = bernoulli(6000, 0.9, 1);
    // b: a with 3% of the pairs flipped from correct to wrong → a real difference.
    const b = Uint8Array.from(a, (x, i) => (x === 1 && i % 33 === 0 ? 0 : x));
    const d = pairedBootstrapDifference(a, b, { seed: 1, samples: 1000 });
    expect(d.diff).toBeGreaterThan(0.02);
    expect(d.significant).toBe(true);
    expect(d.p).toBeLessThan(0.01);
    // c: 10 correct pairs made wrong and 10 wrong pairs made correct → no net difference.
    const c = Uint8Array.from(a);
    let up = 0;
    let down = 0;
    for (let i = 0; i < c.length; i += 7) {
      if (c[i] === 1 && down < 10) {
        c[i] = 0;
        down++;
      } else if (c[i] === 0 && up < 10) {
        c[i] = 1;
        up++;
      }
    }
    expect([up, down]).toEqual([10, 10]);
    const e = pairedBootstrapDifference(a, c, { seed: 1, samples: 1000 });
    expect(e.ci95[0]).toBeLessThanOrEqual(0);
    expect(e.ci95[1]).toBeGreaterThanOrEqual(0);
    expect(e.significant).toBe(false);
  });

  it('refuses vectors of different lengths, naming both', () => {
    expect(() => pairedBootstrapDifference([1, 0], [1])).toThrow(/2 and 1 pairs/);
    expect(() => bootstrapAccuracyCi([])).toThrow(/no pairs/);
  });

  it('kFoldAccuracy reports per-pair correctness whose mean is the pooled accuracy', () => {
    const rng = createRng(5);
    const n = 600;
    const issame = Array.from({ length: n }, (_, i) => i % 2 === 0);
    const dist = Float32Array.from(issame, (s) => (s ? 1.0 : 1.6) + rng.normal() * 0.3);
    const r = kFoldAccuracy(dist, issame);
    expect(r.pairCorrect).toHaveLength(n);
    const pooled = r.pairCorrect.reduce((a, b) => a + b, 0) / n;
    // Equal-size folds: the mean of fold accuracies is the pooled accuracy.
    expect(pooled).toBeCloseTo(r.accuracy, 10);
    expect(pooled).toBeGreaterThan(0.7);
  });
});

describe('the unpaired difference (rows of different runs)', () => {
  it('is wider than the paired interval of the same rows, and agrees on a real difference', () => {
    const a = bernoulli(6000, 0.8, 1);
    const b = Uint8Array.from(a, (x, i) => (x === 1 && i % 25 === 0 ? 0 : x));
    const figures = (c: Uint8Array) => ({
      accuracy: c.reduce((s, x) => s + x, 0) / c.length,
      ci95: bootstrapAccuracyCi(c, { seed: 2, samples: 1000 }),
    });
    const paired = pairedBootstrapDifference(a, b, { seed: 2, samples: 1000 });
    const unpaired = unpairedDifference(figures(a), figures(b));
    expect(unpaired.diff).toBeCloseTo(paired.diff, 12);
    expect(unpaired.ci95[1] - unpaired.ci95[0]).toBeGreaterThan(2 * (paired.ci95[1] - paired.ci95[0]));
    // 3.2 points apart with ±1 point intervals: real either way
    expect(unpaired.significant).toBe(true);
    expect(unpaired.p).toBeLessThan(0.001);
  });

  it('gives the normal p-value: a difference of 1.96 standard errors has p 0.05', () => {
    // each interval ±1.96·0.01 → the difference's standard error √2·0.01
    const se = Math.SQRT2 * 0.01;
    const d = unpairedDifference(
      { accuracy: 0.7 + 1.959964 * se, ci95: [0.7 + 1.959964 * se - 0.0196, 0.7 + 1.959964 * se + 0.0196] },
      { accuracy: 0.7, ci95: [0.7 - 0.0196, 0.7 + 0.0196] },
    );
    expect(d.p).toBeCloseTo(0.05, 3);
    expect(d.ci95[0]).toBeCloseTo(0, 3);
    const same = unpairedDifference(
      { accuracy: 0.7, ci95: [0.69, 0.71] },
      { accuracy: 0.7, ci95: [0.69, 0.71] },
    );
    expect(same.diff).toBe(0);
    expect(same.p).toBeCloseTo(1, 6);
    expect(same.significant).toBe(false);
  });
});
