/**
 * The validation protocol's decision (docs/METHOD.md, "Choosing without B"), as written before the
 * figures came in, so it is applied by code rather than by reading the table:
 * 1. model: the IRM candidate (`facemae-r<ratio>`) unless its λ = 0 control
 *    (`facemae-noirm-r<ratio>`) beats it on both axes — more accurate with the paired 95% interval
 *    above 0, and a worst case no higher;
 * 2. release knob (the IRM model's rows `facemae-r<ratio>[-pb<w>]`): the lowest worst case among
 *    the knobs whose accuracy is within `within` (1 point) of the best knob's; ties go to the
 *    larger paste-back.
 */
import { FaceMaeError } from '../core/errors.js';
import type { ReportRow } from './types.js';

export interface ValidationChoice {
  model: 'irm' | 'control';
  /** The chosen paste-back weight; null when the control won (its knobs were not measured). */
  pasteBack: number | null;
  /** The figures each rule read, for the record. */
  read: Array<{ id: string; worst: number; accuracy: number }>;
  /** The control's paired difference to the IRM candidate (control − IRM) on the set. */
  controlMinusIrm: { diff: number; ci95: [number, number] } | null;
}

/** Applies the two rules to a validation sweep's rows on verification set `set`. */
export function chooseOnValidation(
  rows: readonly ReportRow[],
  set: string,
  opts: { ratio?: number; within?: number } = {},
): ValidationChoice {
  const ratio = opts.ratio ?? 0.75;
  const find = (id: string) => {
    const r = rows.find((x) => x.id === id);
    if (!r) throw new FaceMaeError(`the validation sweep has no row ${id}`, 'E_CONFIG');
    return r;
  };
  const irm = figuresOf(find(`facemae-r${ratio}`), set);
  const ctl = figuresOf(find(`facemae-noirm-r${ratio}`), set);
  const d = find(ctl.id).utility[set]?.vs?.[irm.id];
  const controlWins = d !== undefined && d.ci95[0] > 0 && ctl.worst <= irm.worst;
  const knob = chooseKnob(rows, set, opts);
  return {
    model: controlWins ? 'control' : 'irm',
    pasteBack: controlWins ? null : knob.pasteBack,
    read: [ctl, ...knob.read],
    controlMinusIrm: d ? { diff: d.diff, ci95: d.ci95 } : null,
  };
}

/** Rule 2 alone, over the `facemae` rows at `ratio` (the model in the sweep's `mae` slot). */
export function chooseKnob(
  rows: readonly ReportRow[],
  set: string,
  opts: { ratio?: number; within?: number } = {},
): { pasteBack: number; read: ValidationChoice['read'] } {
  const ratio = opts.ratio ?? 0.75;
  const within = opts.within ?? 0.01;
  const knobs = rows
    .filter((r) => r.method === 'facemae' && r.strength === ratio)
    .map((r) => ({ ...figuresOf(r, set), pasteBack: r.pasteBack ?? 1 }))
    .sort((a, b) => b.pasteBack - a.pasteBack);
  if (knobs.length === 0)
    throw new FaceMaeError(`the validation sweep has no FaceMAE row at mask ratio ${ratio}`, 'E_CONFIG');
  const best = Math.max(...knobs.map((k) => k.accuracy));
  const chosen = knobs
    .filter((k) => k.accuracy >= best - within)
    .reduce((a, b) => (b.worst < a.worst ? b : a));
  return {
    pasteBack: chosen.pasteBack,
    read: knobs.map(({ id, worst, accuracy }) => ({ id, worst, accuracy })),
  };
}

/** A row's worst case and accuracy on `set`; an error when either is missing. */
function figuresOf(r: ReportRow, set: string): { id: string; worst: number; accuracy: number } {
  const accuracy = r.utility[set]?.accuracy;
  const worst = r.privacy?.identityTop1;
  if (accuracy === undefined || worst === undefined)
    throw new FaceMaeError(
      `validation row ${r.id} lacks its accuracy on ${set} or its worst case`,
      'E_CONFIG',
    );
  return { id: r.id, worst, accuracy };
}
