/**
 * Confidence intervals for the sweep's utility figures: a bootstrap interval per row and set,
 * and each row's paired difference to the reference rows (the original, and FaceMAE), so the
 * report can say which differences are real instead of ranking noise.
 */
import { bootstrapAccuracyCi, pairedBootstrapDifference } from '../eval/bootstrap.js';
import type { ReportRow } from './types.js';

/** A per-pair correctness string ('0'/'1') as a vector. */
export const correctnessBits = (s: string) => Uint8Array.from(s, (c) => (c === '1' ? 1 : 0));

/**
 * The rows differences are measured against: the original and every FaceMAE (IRM) row, so a
 * baseline can be compared with the FaceMAE ratio nearest its privacy, and the λ = 0 ablation
 * with IRM at the same ratio.
 */
export function referenceRows(rows: readonly ReportRow[]): ReportRow[] {
  return rows.filter(isReference);
}

/** Whether a row is one the others are compared with (the original, or FaceMAE with IRM). */
export const isReference = (r: { method: string }): boolean =>
  r.method === 'original' || r.method === 'facemae';

/** Fills `ci95` and `vs` of every utility figure that carries per-pair correctness (in place). */
export function addUtilityStatistics(
  rows: ReportRow[],
  opts: { seed?: number; samples?: number } = {},
): void {
  const refs = referenceRows(rows);
  for (const row of rows) {
    for (const [set, u] of Object.entries(row.utility)) {
      if (!u.pairCorrect) continue;
      const mine = correctnessBits(u.pairCorrect);
      u.ci95 = bootstrapAccuracyCi(mine, opts);
      for (const ref of refs) {
        const other = ref.utility[set]?.pairCorrect;
        if (ref === row || !other || other.length !== mine.length) continue;
        (u.vs ??= {})[ref.id] = pairedBootstrapDifference(mine, correctnessBits(other), opts);
      }
    }
  }
}
