import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contiguousFolds,
  kFoldAccuracy,
  pairDistances,
  rocCurve,
  tarAtFar,
  thresholdGrid,
} from '../../src/eval/verification.js';
import { FaceMaeError } from '../../src/core/errors.js';

// Golden values from tests/eval/fixtures/verification_golden.py: an independent numpy transcription
// of insightface eval/verification.py (calculate_roc / calculate_val) over made-up distances.
const golden = JSON.parse(
  fs.readFileSync(path.join(import.meta.dirname, 'fixtures/verification-golden.json'), 'utf8'),
) as {
  dist: number[];
  issame: boolean[];
  accuracy: number;
  std: number;
  foldAccuracies: number[];
  bestThresholds: number[];
  tpr_at_100: number;
  fpr_at_150: number;
  farTarget: number;
  tar: number;
  tarStd: number;
  far: number;
};

describe('verification metrics (insightface protocol)', () => {
  it('k-fold accuracy on a hand-made separable set picks the first perfect threshold', () => {
    // 2 folds × (5 same at 0.1..0.5, 5 different at 0.6..1.0): dist < t is perfect for t in (0.5, 0.6].
    const same = [0.1, 0.2, 0.3, 0.4, 0.5];
    const diff = [0.6, 0.7, 0.8, 0.9, 1.0];
    const dist = Float32Array.from([...same, ...diff, ...same, ...diff]);
    const issame = [
      ...same.map(() => true),
      ...diff.map(() => false),
      ...same.map(() => true),
      ...diff.map(() => false),
    ];
    const r = kFoldAccuracy(dist, issame, { nFolds: 2 });
    expect(r.accuracy).toBe(1);
    expect(r.std).toBe(0);
    // float32(0.5) = 0.5 exactly, so 0.5 < 0.50 fails and 0.51 is the first perfect grid point.
    expect(r.bestThresholds[0]).toBeCloseTo(0.51, 10);
  });

  it('k-fold accuracy on a hand-made overlapping set: one error per fold', () => {
    // Each fold: same [0.2, 0.3, 1.5], different [1.0, 1.2, 1.4]. Training on the other fold, the best
    // accuracy 5/6 is first reached at t = 0.31 (all different rejected, the 1.5 same pair missed).
    const fold = { d: [0.2, 0.3, 1.5, 1.0, 1.2, 1.4], s: [true, true, true, false, false, false] };
    const dist = Float32Array.from([...fold.d, ...fold.d]);
    const issame = [...fold.s, ...fold.s];
    const r = kFoldAccuracy(dist, issame, { nFolds: 2 });
    expect(r.bestThresholds.map((t) => Number(t.toFixed(2)))).toEqual([0.31, 0.31]);
    expect(r.foldAccuracies).toEqual([5 / 6, 5 / 6]);
  });

  it('matches the numpy transcription of insightface on 400 pairs', () => {
    const dist = Float32Array.from(golden.dist);
    const r = kFoldAccuracy(dist, golden.issame);
    expect(r.accuracy).toBeCloseTo(golden.accuracy, 12);
    expect(r.std).toBeCloseTo(golden.std, 12);
    expect(r.foldAccuracies).toEqual(golden.foldAccuracies.map((a) => expect.closeTo(a, 12)));
    expect(r.bestThresholds).toEqual(golden.bestThresholds.map((a) => expect.closeTo(a, 12)));
    expect(r.tpr[100]).toBeCloseTo(golden.tpr_at_100, 12);
    expect(r.fpr[150]).toBeCloseTo(golden.fpr_at_150, 12);
    const t = tarAtFar(dist, golden.issame, golden.farTarget);
    expect(t.tar).toBeCloseTo(golden.tar, 12);
    expect(t.tarStd).toBeCloseTo(golden.tarStd, 12);
    expect(t.far).toBeCloseTo(golden.far, 12);
  });

  it('TAR@FAR by hand: the threshold is interpolated where training FAR reaches the target', () => {
    // 2 folds; each: same at 0.1, 0.2, 0.9 and different at 0.5, 1.0, 2.0, 3.0 (4 different pairs).
    // Training FAR reaches 0.25 at thresholds just above 0.5 (first grid point 0.501); on the test fold
    // dist < 0.501 accepts the same pairs 0.1 and 0.2 (TAR 2/3) and the different pair 0.5 (FAR 1/4).
    const d = [0.1, 0.2, 0.9, 0.5, 1.0, 2.0, 3.0];
    const s = [true, true, true, false, false, false, false];
    const r = tarAtFar(Float32Array.from([...d, ...d]), [...s, ...s], 0.25, { nFolds: 2 });
    expect(r.tar).toBeCloseTo(2 / 3, 12);
    expect(r.far).toBeCloseTo(1 / 4, 12);
  });

  it('TAR@FAR uses threshold 0 when FAR never reaches the target (insightface)', () => {
    const r = tarAtFar(Float32Array.from([0.1, 5, 0.1, 5]), [true, false, true, false], 0.5, { nFolds: 2 });
    expect(r.tar).toBe(0);
  });

  it('ROC: rates are monotone in the threshold and a perfect split has AUC 1', () => {
    const roc = rocCurve(Float32Array.from([0.1, 0.2, 2, 3]), [true, true, false, false]);
    expect(roc.auc).toBeCloseTo(1, 10);
    for (let i = 1; i < roc.tpr.length; i++) {
      expect(roc.tpr[i]).toBeGreaterThanOrEqual(roc.tpr[i - 1] as number);
      expect(roc.fpr[i]).toBeGreaterThanOrEqual(roc.fpr[i - 1] as number);
    }
    const rev = rocCurve(Float32Array.from([2, 3, 0.1, 0.2]), [true, true, false, false]);
    expect(rev.auc).toBeLessThan(0.01);
  });

  it('pair distances are squared L2 between interleaved rows; folds are contiguous like KFold', () => {
    const emb = Float32Array.from([1, 0, 0, 1, 1, 0, 1, 0]);
    expect(Array.from(pairDistances(emb, 2))).toEqual([2, 0]);
    expect(Array.from(contiguousFolds(7, 3))).toEqual([0, 0, 0, 1, 1, 2, 2]);
    expect(thresholdGrid(0.01).length).toBe(400);
    expect(thresholdGrid(0.001).length).toBe(4000);
  });

  it('refuses mismatched pairs and non-finite distances with a message', () => {
    expect(() => kFoldAccuracy(Float32Array.from([0.1, 0.2]), [true])).toThrow(
      /2 distances but 1 same\/different labels/,
    );
    expect(() => kFoldAccuracy(Float32Array.from([0.1, NaN]), [true, false])).toThrow(FaceMaeError);
    expect(() => kFoldAccuracy(Float32Array.from([0.1, NaN]), [true, false])).toThrow(/pair 1 is NaN/);
  });
});
