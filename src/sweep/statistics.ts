/**
 * Confidence intervals for the sweep's utility figures: a bootstrap interval per row and set,
 * and each row's paired difference to the reference rows (the original, and FaceMAE), so the
 * report can say which differences are real instead of ranking noise.
 */
import { bootstrapAccuracyCi, pairedBootstrapDifference } from '../eval/bootstrap.js';
import type { ReportRow } from '../report/types.js';

const bits = (s: string) => Uint8Array.from(s, (c) => (c === '1' ? 1 : 0));

/** The FaceMAE row differences are measured against: mask ratio 0.75 (the paper's), else the first. */
export function referenceFaceMaeRow(rows: readonly ReportRow[]): ReportRow | undefined {
  const fm = rows.filter((r) => r.method === 'facemae');
  return fm.find((r) => r.strength === 0.75) ?? fm[0];
}

/** Fills `ci95` and `vs` of every utility figure that carries per-pair correctness (in place). */
export function addUtilityStatistics(
  rows: ReportRow[],
  opts: { seed?: number; samples?: number } = {},
): void {
  const refs = [rows.find((r) => r.id === 'original'), referenceFaceMaeRow(rows)].filter(
    (r): r is ReportRow => r !== undefined,
  );
  for (const row of rows) {
    for (const [set, u] of Object.entries(row.utility)) {
      if (!u.pairCorrect) continue;
      const mine = bits(u.pairCorrect);
      u.ci95 = bootstrapAccuracyCi(mine, opts);
      for (const ref of refs) {
        const other = ref.utility[set]?.pairCorrect;
        if (ref === row || !other || other.length !== mine.length) continue;
        (u.vs ??= {})[ref.id] = pairedBootstrapDifference(mine, bits(other), opts);
      }
    }
  }
}
