/**
 * Every step id of a sweep, in one place. A step's id names its folder and done-marker under
 * `<out>/steps/`, so a changed id makes a resumed sweep redo finished work
 * (tests/sweep/plan.test.ts pins them).
 */
import type { DistortionMethod } from '../protect/distortions.js';

/** The steps a sweep makes once. */
export const STEP = {
  split: 'split',
  deployData: 'deploy-data',
  teacher: 'teacher',
  mae: 'mae',
  maeNoIrm: 'mae-noirm',
  grids: 'grids',
} as const;

/** The FaceMAE models: trained with IRM, and the λ = 0 ablation. */
export type MaeStepId = typeof STEP.mae | typeof STEP.maeNoIrm;

/**
 * A row's id, which is also the id of the step that makes its version of B: 'original',
 * 'facemae[-noirm]-r<ratio>' (a release knob other than 1 adds '-pb<w>'; 1 keeps the ids rows
 * always had), '<method>-<strength>'.
 */
function rowId(method: string, strength: number | null | undefined, pasteBack = 1): string {
  if (method === 'original') return 'original';
  if (!method.startsWith('facemae')) return `${method}-${strength}`;
  return `${method}-r${strength}${pasteBack === 1 ? '' : `-pb${pasteBack}`}`;
}

/** The rows, each a version of B. */
export const ROW = {
  original: 'original',
  facemae: (method: 'facemae' | 'facemae-noirm', ratio: number, pasteBack = 1): string =>
    rowId(method, ratio, pasteBack),
  baseline: (b: { method: DistortionMethod; strength: number }): string => rowId(b.method, b.strength),
  /** A results file's row (docs/results/*.json; `pasteBack` absent: 1). */
  ofEvidence: (r: { method: string; strength: number | null; pasteBack?: number }): string =>
    rowId(r.method, r.strength, r.pasteBack ?? 1),
};

/** The steps made per row. */
export const ROW_STEP = {
  /** protect(A) with the row's protection, for the adaptive attackers. */
  public: (row: string): string => `public-${row}`,
  /** The parrot fine-tuned on the row's protect(A): numbered when several models are. */
  parrot: (row: string, index: number, count: number): string =>
    `parrot-${row}${count > 1 ? `-${index + 1}` : ''}`,
  privacy: (row: string): string => `privacy-${row}`,
  fr: (row: string): string => `fr-${row}`,
  verify: (row: string): string => `verify-${row}`,
};
