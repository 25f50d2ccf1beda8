/**
 * The sweep's results in the evidence schema (docs/results/<name>.json): one row per protected
 * version with each attacker's figures, the worst case, and LFW accuracy with its 95% interval.
 * A pure function of the report data, written beside the report as evidence.json.
 */
import type { ReportData } from './types.js';

export interface EvidenceRow {
  method: string;
  strength: number | null;
  privacy: Record<string, { instanceTop1: number; identityTop1: number; identityTop5: number }>;
  worstIdentityTop1: number | null;
  lfw: {
    accuracy: number;
    ci95: [number, number] | null;
    vs: Record<string, { diff: number; ci95: [number, number]; p: number; significant: boolean }>;
  } | null;
  /** Recognizer training steps of this row (null when utility was not run). */
  steps: number | null;
  /** Wall time of this row's steps (protection, attack, recognizer, verification). */
  seconds: number;
}

export interface EvidenceResults {
  protocol: Record<string, unknown>;
  rows: EvidenceRow[];
}

export function toEvidence(
  data: ReportData,
  protocol: Record<string, unknown>,
  recognizerSteps: Record<string, number> = {},
): EvidenceResults {
  const lfw = data.verificationSets.find((s) => s.startsWith('lfw:')) ?? data.verificationSets[0];
  const seconds = new Map(data.steps.map((s) => [s.id, s.seconds ?? 0]));
  return {
    protocol,
    rows: data.rows.map((r) => {
      const byAttacker = r.privacyByAttacker ?? (r.privacy ? { [data.attacker]: r.privacy } : {});
      const u = lfw ? r.utility[lfw] : undefined;
      return {
        method: r.method,
        strength: r.strength ?? null,
        privacy: Object.fromEntries(
          Object.entries(byAttacker).map(([a, p]) => [
            a,
            { instanceTop1: p.instanceTop1, identityTop1: p.identityTop1, identityTop5: p.identityTop5 },
          ]),
        ),
        worstIdentityTop1: r.privacy?.identityTop1 ?? null,
        lfw: u ? { accuracy: u.accuracy, ci95: u.ci95 ?? null, vs: u.vs ?? {} } : null,
        steps: recognizerSteps[r.id] ?? null,
        seconds: [r.id, `privacy-${r.id}`, `fr-${r.id}`, `verify-${r.id}`].reduce(
          (a, id) => a + (seconds.get(id) ?? 0),
          0,
        ),
      };
    }),
  };
}
