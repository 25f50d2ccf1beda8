/**
 * A sweep's results as report data: one row per version of B with its attack (each attacker's
 * figures, the worst case as the headline) and its verification, the notes saying why a figure is
 * missing, and the run log. A pure function of the step outcomes the sweep hands over.
 */
import type { AttackerResult, WorstCase } from '../attack/attack.js';
import type { AttackKind } from '../attack/suite.js';
import type { RetrievalMetrics } from '../eval/retrieval.js';
import { addUtilityStatistics } from './statistics.js';
import type { PrivacyFigures, ReportData, ReportRow, UtilityFigures } from './types.js';

/** One attacker's figures as a sweep's privacy step keeps them (results cached before the suite carry no kind). */
export type SweepAttackerResult = Omit<AttackerResult, 'kind'> & {
  kind?: AttackKind;
  attackerIsTeacher?: boolean;
};

/** A sweep's privacy step: each attacker's attack and the worst case over them. */
export type SweepPrivacyResult = {
  attackers: Record<string, SweepAttackerResult>;
  worst: WorstCase;
};

/** A sweep's verify step: the figures on each verification set. */
export type SweepVerifyResult = Record<string, UtilityFigures>;

/** A step as the report sees it: how it ended and, when it finished, its result. */
export interface ReportedStep<R = unknown> {
  id: string;
  status: string;
  seconds?: number;
  error?: string;
  result?: R;
}

/** One version of B and the steps that measured it (undefined: not in the sweep). */
export interface SweepReportRow {
  id: string;
  method: string;
  label: string;
  strength?: number;
  pasteBack?: number;
  privacy?: ReportedStep<SweepPrivacyResult>;
  verify?: ReportedStep<SweepVerifyResult>;
}

export interface SweepReportInput {
  name: string;
  seed: number;
  verify: string[];
  /** The attackers' names. */
  attackers: string[];
  /** The IRM teacher the config names. */
  teacher: string;
  /** The resolved config, shown verbatim. */
  config: unknown;
  rows: SweepReportRow[];
  /** The FaceMAE the rows were made with (undefined when its step did not finish). */
  mae?: { run: string; pretrained: boolean; teacher: string | null };
  /** The image grid, when it was drawn: its rows and column labels, its cell side. */
  grid?: { rows: number; columns: string[]; cell: number };
  steps: ReportedStep[];
}

const privacyFigures = (m: RetrievalMetrics & { unit?: 'probe' | 'label' }): PrivacyFigures => ({
  probes: m.numProbes,
  ...(m.unit ? { unit: m.unit } : {}),
  instanceTop1: m.instanceTop1,
  identityTop1: m.identityTopK.top1 ?? NaN,
  identityTop5: m.identityTopK.top5 ?? NaN,
  identityTop10: m.identityTopK.top10 ?? NaN,
  meanCosineToSource: m.meanCosineToSource,
});

const why = (o: ReportedStep | undefined) =>
  o ? `${o.id}: ${o.status}${o.error ? ` — ${o.error}` : ''}` : 'not run';

function reportRow(s: SweepReportRow): ReportRow {
  const pv = s.privacy;
  const vf = s.verify;
  const notes: string[] = [];
  let privacy: ReportRow['privacy'];
  let privacyByAttacker: ReportRow['privacyByAttacker'];
  let worstAttacker: string | undefined;
  let worstCi95: [number, number] | undefined;
  let frozenIdentityTop1: number | undefined;
  if (pv?.result) {
    const r = pv.result;
    privacyByAttacker = {};
    for (const [a, m] of Object.entries(r.attackers)) {
      privacyByAttacker[a] = privacyFigures(m);
      if (m.attackerIsTeacher) notes.push(`attacker ${a} is the IRM teacher (allowed by config)`);
    }
    worstAttacker = r.worst.attacker;
    worstCi95 = r.worst.ci95;
    // results cached before the suite carry no kind: those attackers were all frozen
    const frozen = Object.values(r.attackers)
      .filter((m) => (m.kind ?? 'frozen') === 'frozen')
      .map((m) => m.identityTopK.top1 ?? NaN);
    if (frozen.length > 0) frozenIdentityTop1 = Math.max(...frozen);
    // The row's headline privacy is the worst case: the attacker with the highest identity top-1.
    privacy = privacyByAttacker[worstAttacker];
    if (Object.keys(r.attackers).length > 1)
      notes.push(
        `identity top-1 by attacker: ${Object.entries(privacyByAttacker)
          .map(([a, f]) => `${a} ${(f.identityTop1 * 100).toFixed(1)}%`)
          .join(', ')} (worst: ${worstAttacker})`,
      );
  } else notes.push(`privacy not available (${why(pv)})`);
  const utility = vf?.result ?? {};
  if (!vf?.result) notes.push(`utility not available (${why(vf)})`);
  const failed = [pv, vf].some((o) => o?.status === 'failed');
  const missing = [pv, vf].filter((o) => !o?.result).length;
  const notAvail = [pv, vf].some((o) => /not available/.test(o?.error ?? ''));
  return {
    id: s.id,
    method: s.method,
    label: s.label,
    strength: s.strength,
    ...(s.pasteBack !== undefined ? { pasteBack: s.pasteBack } : {}),
    privacy,
    privacyByAttacker,
    worstAttacker,
    worstCi95,
    frozenIdentityTop1,
    utility,
    status:
      missing === 0 ? 'ok' : missing === 2 ? (notAvail && !failed ? 'not available' : 'failed') : 'partial',
    notes,
  };
}

/** The report data of a sweep: its rows (with the utility statistics), chance, grid and run log. */
export function sweepReportData(input: SweepReportInput): ReportData {
  const rows = input.rows.map(reportRow);
  addUtilityStatistics(rows, { seed: input.seed });
  const firstPrivacy = input.rows
    .map((s) => s.privacy?.result)
    .map((r) => (r ? Object.values(r.attackers)[0] : undefined))
    .find(Boolean);
  const ch = firstPrivacy?.chance;
  const { mae, grid } = input;
  const notes: string[] = [];
  if (mae?.pretrained) notes.push(`FaceMAE: pretrained run ${String(mae.run)} (not trained in this sweep)`);
  return {
    title: `FaceMAE privacy–utility sweep: ${input.name}`,
    createdAt: new Date().toISOString(),
    attacker: input.attackers.join(', '),
    // A pretrained FaceMAE names its own teacher; none means it was trained with the MSE alone.
    teacher: mae?.pretrained
      ? String(mae.teacher ?? 'none (pretrained without IRM)')
      : String(mae?.teacher ?? input.teacher),
    verificationSets: input.verify,
    rows,
    chance: {
      instanceTop1: ch?.instanceTop1 ?? NaN,
      identityTop1: ch?.identityTopK.top1 ?? NaN,
      identityTop5: ch?.identityTopK.top5 ?? NaN,
      identityTop10: ch?.identityTopK.top10 ?? NaN,
    },
    grids: grid
      ? [
          {
            file: 'grid.png',
            columns: grid.columns,
            cell: grid.cell,
            pad: 4,
            caption: `One image of each of the first ${String(grid.rows)} deployment identities. "masked r" shows the patches FaceMAE's encoder saw at mask ratio r (from the reconstruction manifest; a fresh random mask when none was written); "FaceMAE r" is the reconstruction.`,
          },
        ]
      : [],
    config: input.config,
    notes,
    steps: input.steps.map((o) => ({
      id: o.id,
      status: o.status,
      seconds: o.seconds,
      error: o.error,
    })),
  };
}
