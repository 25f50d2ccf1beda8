import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/rng.js';
import { makeLfwPairs, parseLfwPairs } from '../../src/data/pairs.js';

describe('makeLfwPairs', () => {
  const counts = new Map<string, number>(
    Array.from({ length: 12 }, (_, i) => [`id${i}`, i % 3 === 0 ? 1 : 3 + i]),
  );

  it('writes a pairs file the LFW parser reads: identity-disjoint folds, valid image numbers, seeded', () => {
    const text = makeLfwPairs(counts, { folds: 3, perFold: 20, rng: createRng(1) });
    const { folds, perFold, pairs } = parseLfwPairs(text, 'made');
    expect([folds, perFold, pairs.length]).toEqual([3, 20, 120]);
    const foldOf = new Map<string, number>();
    for (const p of pairs) {
      for (const [n, i] of [
        [p.nameA, p.numA],
        [p.nameB, p.numB],
      ] as const) {
        expect(i).toBeGreaterThanOrEqual(1);
        expect(i).toBeLessThanOrEqual(counts.get(n)!);
        expect(foldOf.get(n) ?? p.fold).toBe(p.fold); // a person lives in one fold
        foldOf.set(n, p.fold);
      }
      if (p.same) expect(p.numA).not.toBe(p.numB);
      else expect(p.nameA).not.toBe(p.nameB);
    }
    expect(makeLfwPairs(counts, { folds: 3, perFold: 20, rng: createRng(1) })).toBe(text);
    expect(makeLfwPairs(counts, { folds: 3, perFold: 20, rng: createRng(2) })).not.toBe(text);
  });

  it('refuses a fold without two identities or a person with two images', () => {
    expect(() => makeLfwPairs(counts, { folds: 12, perFold: 2, rng: createRng(0) })).toThrow(
      /use fewer folds/,
    );
  });
});
