import { describe, expect, it } from 'vitest';
import { chooseOnValidation } from '../../src/report/choose.js';
import type { ReportRow } from '../../src/report/types.js';

const SET = 'lfw:val';
const fig = (x: number) => ({
  instanceTop1: x,
  identityTop1: x,
  identityTop5: x,
  identityTop10: x,
  meanCosineToSource: 0,
});
const row = (id: string, worst: number, accuracy: number, extra: Partial<ReportRow> = {}): ReportRow => ({
  id,
  method: id.startsWith('facemae-noirm') ? 'facemae-noirm' : 'facemae',
  label: id,
  strength: 0.75,
  privacy: fig(worst),
  utility: { [SET]: { accuracy, std: 0 } },
  status: 'ok',
  notes: [],
  ...extra,
});
const vs = (diff: number, lo: number, hi: number) => ({
  [SET]: {
    accuracy: 0,
    std: 0,
    vs: {
      'facemae-r0.75': { diff, ci95: [lo, hi] as [number, number], p: 0, significant: lo > 0 || hi < 0 },
    },
  },
});

describe('chooseOnValidation (the rules of docs/METHOD.md)', () => {
  const knobs = [
    row('facemae-r0.75', 0.8, 0.7),
    row('facemae-r0.75-pb0.5', 0.7, 0.695, { pasteBack: 0.5 }),
    row('facemae-r0.75-pb0', 0.6, 0.68, { pasteBack: 0 }),
  ];

  it('keeps the IRM model unless the control beats it on both axes, and picks the most private knob within 1 point', () => {
    const ctl = row('facemae-noirm-r0.75', 0.8, 0.72);
    ctl.utility = { [SET]: { ...vs(0.02, -0.001, 0.04)[SET], accuracy: 0.72 } }; // not significant
    const c = chooseOnValidation([...knobs, ctl], SET);
    expect(c.model).toBe('irm');
    expect(c.pasteBack).toBe(0.5); // pb0 is 2 points below the best: out
    expect(c.read.map((r) => r.id)).toEqual([
      'facemae-noirm-r0.75',
      'facemae-r0.75',
      'facemae-r0.75-pb0.5',
      'facemae-r0.75-pb0',
    ]);
  });

  it('takes the control when it is significantly more accurate and no less private; a tie in privacy goes to the larger paste-back', () => {
    const ctl = row('facemae-noirm-r0.75', 0.8, 0.72);
    ctl.utility = { [SET]: { ...vs(0.02, 0.005, 0.04)[SET], accuracy: 0.72 } };
    expect(chooseOnValidation([...knobs, ctl], SET)).toMatchObject({ model: 'control', pasteBack: null });
    const lessPrivate = { ...ctl, privacy: fig(0.9) };
    expect(chooseOnValidation([...knobs, lessPrivate], SET).model).toBe('irm');
    const tied = [row('facemae-r0.75', 0.6, 0.7), row('facemae-r0.75-pb0', 0.6, 0.7, { pasteBack: 0 })];
    expect(chooseOnValidation([...tied, row('facemae-noirm-r0.75', 0.8, 0.7)], SET).pasteBack).toBe(1);
  });

  it('refuses a sweep without the rows or figures the rules read', () => {
    expect(() => chooseOnValidation(knobs, SET)).toThrow(/no row facemae-noirm-r0.75/);
    const noAcc = row('facemae-noirm-r0.75', 0.8, 0.7, { utility: {} });
    expect(() => chooseOnValidation([...knobs, noAcc], SET)).toThrow(/lacks its accuracy/);
  });
});
