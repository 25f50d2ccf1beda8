import { describe, expect, it } from 'vitest';
import { epochOrder, remainingEpochIndices } from '../../src/train/resumable.js';

const paths = Array.from({ length: 10 }, (_, i) => `p${i}`);
const remainingEpochRecords = (_: unknown, o: Parameters<typeof remainingEpochIndices>[1]) =>
  remainingEpochIndices(paths.length, o).map((i) => ({ path: paths[i]! }));
const records = paths;

describe('resumable batch order', () => {
  it('an epoch is a seeded permutation, different per epoch and per seed', () => {
    const e0 = epochOrder(3, 0, 10);
    expect([...e0].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(epochOrder(3, 0, 10)).toEqual(e0);
    expect(epochOrder(3, 1, 10)).not.toEqual(e0);
    expect(epochOrder(4, 0, 10)).not.toEqual(e0);
  });

  it('resuming at any step yields exactly the rest of that epoch, in whole batches, bounded by the run', () => {
    const opts = { seed: 1, perEpoch: 3, totalSteps: 5, batchSize: 3 };
    const full = remainingEpochRecords(records, { ...opts, step: 0 }).map((r) => r.path);
    expect(full).toHaveLength(9); // 3 batches of 3; the 10th image is dropped
    expect(remainingEpochRecords(records, { ...opts, step: 2 }).map((r) => r.path)).toEqual(full.slice(6));
    // step 4 is batch 1 of epoch 1, and the run ends after it
    const e1 = epochOrder(1, 1, 10).map((i) => `p${i}`);
    expect(remainingEpochRecords(records, { ...opts, step: 4 }).map((r) => r.path)).toEqual(e1.slice(3, 6));
  });
});
