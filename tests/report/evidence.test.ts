import { describe, expect, it } from 'vitest';
import {
  evidenceVerdicts,
  joinPrivacy,
  joinUtility,
  toEvidence,
  type EvidenceResults,
  type EvidenceRow,
} from '../../src/report/evidence.js';
import { renderMarkdownTable, verdictLines } from '../../src/report/render.js';
import type { ReportData, ReportRow } from '../../src/report/types.js';

const SET = 'lfw:/x/lfw';
/** A row with worst-case identity top-1 `p`, accuracy `a`, and paired differences `vs` (row − ref). */
function row(
  id: string,
  method: string,
  p: number,
  a: number,
  vs: Record<string, [number, number, number]> = {},
): ReportRow {
  return {
    id,
    method,
    label: id,
    privacy: { instanceTop1: p, identityTop1: p, identityTop5: p, identityTop10: p, meanCosineToSource: 0 },
    utility: {
      [SET]: {
        accuracy: a,
        std: 0.01,
        vs: Object.fromEntries(
          Object.entries(vs).map(([k, [diff, lo, hi]]) => [
            k,
            { diff, ci95: [lo, hi] as [number, number], p: 0, significant: lo > 0 || hi < 0 },
          ]),
        ),
      },
    },
    status: 'ok',
    notes: [],
  };
}

const data = (): ReportData => ({
  title: 't',
  createdAt: '2026-01-01T00:00:00Z',
  attacker: 'a',
  teacher: 't',
  verificationSets: [SET],
  rows: [
    row('original', 'original', 1, 0.9),
    row('facemae-r0.75', 'facemae', 0.3, 0.74),
    row('facemae-r0.9', 'facemae', 0.03, 0.67),
    row('facemae-r0.95', 'facemae', 0.001, 0.6),
    // more private than FaceMAE 0.9 and better, but the ablation is not a baseline
    row('facemae-noirm-r0.9', 'facemae-noirm', 0.02, 0.95),
    row('blur-8', 'blur', 0.13, 0.73, { 'facemae-r0.75': [-0.01, -0.023, 0.001] }),
    row('noise-80', 'noise', 0.175, 0.85, { 'facemae-r0.75': [0.11, 0.098, 0.12] }),
    // as private as FaceMAE 0.75 only: too weak for 0.9
    row('pixelate-8', 'pixelate', 0.3, 0.8, { 'facemae-r0.75': [0.06, 0.05, 0.07] }),
    row('mask-0.9', 'mask', 0.005, 0.558, { 'facemae-r0.9': [-0.112, -0.127, -0.1] }),
  ],
  chance: { instanceTop1: 0, identityTop1: 0, identityTop5: 0, identityTop10: 0 },
  grids: [],
  config: {},
  notes: [],
  steps: [],
});

describe('evidence verdicts', () => {
  it('compares each FaceMAE row with the best baseline at equal or stronger privacy', () => {
    const [v75, v90, v95] = evidenceVerdicts(data(), SET);
    // 0.75: noise 80 is more private and better; the paired interval turned round to FaceMAE − noise
    expect(v75!.bestBaseline!.id).toBe('noise-80');
    expect(v75!.bestBaseline!.diff).toBeCloseTo(0.74 - 0.85, 10);
    expect(v75!.bestBaseline!.ci95).toEqual([-0.12, -0.098]);
    expect(v75!.outcome).toBe('loses');
    expect(v75!.bestBaseline!.errorRatio).toBeCloseTo(0.26 / 0.15, 10);
    expect(v75!.halvesError).toBe(false);
    // 0.9: only mask 0.9 is as private (the ablation does not count)
    expect(v90!.bestBaseline!.id).toBe('mask-0.9');
    expect(v90!.outcome).toBe('beats');
    expect(v90!.bestBaseline!.ci95).toEqual([0.1, 0.127]);
    expect(v90!.bestBaseline!.errorRatio).toBeCloseTo(0.33 / 0.442, 10);
    expect(v95!.outcome).toBe('no baseline as private');
    expect(v95!.bestBaseline).toBeNull();
  });

  it('says "n.s." when the paired interval holds 0, and "halves the error" at ratio ≤ 0.5', () => {
    const d = data();
    d.rows = d.rows.filter((r) => r.id !== 'noise-80' && r.id !== 'pixelate-8');
    expect(evidenceVerdicts(d, SET)[0]!.bestBaseline!.id).toBe('blur-8');
    expect(evidenceVerdicts(d, SET)[0]!.outcome).toBe('n.s.');
    d.rows.push(row('noise-120', 'noise', 0.2, 0.5, { 'facemae-r0.75': [-0.24, -0.26, -0.22] }));
    d.rows = d.rows.filter((r) => r.id !== 'blur-8' && r.id !== 'mask-0.9');
    const v = evidenceVerdicts(d, SET)[0]!;
    expect(v.bestBaseline!.errorRatio).toBeCloseTo(0.26 / 0.5, 10);
    expect(v.halvesError).toBe(false);
    d.rows.find((r) => r.id === 'facemae-r0.75')!.utility[SET]!.accuracy = 0.76;
    expect(evidenceVerdicts(d, SET)[0]!.halvesError).toBe(true);
  });

  it('says "not tested" when the best baseline has no paired difference to the FaceMAE row', () => {
    const d = data();
    d.rows.find((r) => r.id === 'noise-80')!.utility[SET]!.vs = {};
    const v = evidenceVerdicts(d, SET)[0]!;
    expect(v.bestBaseline!.id).toBe('noise-80');
    expect(v.bestBaseline!.significant).toBeNull();
    expect(v.bestBaseline!.ci95).toBeNull();
    expect(v.outcome).toBe('not tested');
    expect(verdictLines(d)[0]).toMatch(/−11\.0 pts: behind on the point estimates, not tested/);
  });

  it('goes into evidence.json and the report', () => {
    expect(toEvidence(data(), {}).verdicts).toHaveLength(3);
    const lines = verdictLines(data());
    expect(lines[0]).toMatch(
      /best baseline at equal or stronger privacy is noise-80 .*FaceMAE −11\.0 pts \[−12\.0, −9\.8\]: loses to it; error ratio 1\.73/,
    );
    expect(lines[2]).toMatch(/no baseline with utility is as private/);
    expect(renderMarkdownTable(data())).toContain(`- ${lines[1]}`);
  });

  it("keeps a release knob's rows apart in a results file", async () => {
    const { ROW } = await import('../../src/sweep/step-ids.js');
    const d = data();
    d.rows.push({ ...row('facemae-r0.75-pb0', 'facemae', 0.25, 0.73), strength: 0.75, pasteBack: 0 });
    d.rows[1]!.strength = 0.75;
    const ev = toEvidence(d, {});
    const ids = ev.rows.map((r) => ROW.ofEvidence(r));
    expect(ids).toContain('facemae-r0.75');
    expect(ids).toContain('facemae-r0.75-pb0');
    expect(ev.rows[1]!.pasteBack).toBeUndefined(); // paste-back 1: the row as it always was
  });
});

describe('utility rows of several runs in one table (joinUtility)', () => {
  const PROTOCOL = {
    seed: 0,
    size: 112,
    split: { dir: '/abs/shared/data/celeba', seed: 0 },
    verify: ['lfw:/abs/shared/data/lfw'],
    recognizer: { backbone: 'r-tiny' },
  };
  /** A results row: accuracy from per-pair scores `bits` (when `keep`), interval from the binomial. */
  const erow = (method: string, strength: number | null, correct: string, keep = true): EvidenceRow => {
    const a = [...correct].filter((c) => c === '1').length / correct.length;
    const h = 1.96 * Math.sqrt((a * (1 - a)) / correct.length);
    return {
      method,
      strength,
      privacy: {},
      worstIdentityTop1: null,
      lfw: {
        accuracy: a,
        ci95: [a - h, a + h],
        vs: { stale: { diff: 9, ci95: [9, 9], p: 0, significant: true } },
        ...(keep ? { pairCorrect: correct } : {}),
      },
      steps: 1,
      seconds: 1,
    };
  };
  const idOf = (r: EvidenceRow) => (r.method === 'original' ? 'original' : `${r.method}-${r.strength}`);
  const pairs = (n: number, wrongEvery: number) =>
    Array.from({ length: n }, (_, i) => (i % wrongEvery === 0 ? '0' : '1')).join('');

  it('takes each row from its source and measures the differences again: paired when both keep per-pair scores', () => {
    const newRun: EvidenceResults = {
      protocol: { ...PROTOCOL, mae: 'new' },
      rows: [
        erow('facemae', 0.9, pairs(2000, 3)),
        erow('blur', 16, pairs(2000, 4)),
        erow('noise', 80, pairs(2000, 2)),
      ],
      verdicts: [],
    };
    // an earlier run: relative paths, no per-pair scores, and a FaceMAE row of another model
    const oldRun: EvidenceResults = {
      protocol: {
        ...PROTOCOL,
        split: { dir: '../shared/data/celeba', seed: 0 },
        verify: ['lfw:../shared/data/lfw'],
      },
      rows: [
        erow('original', null, pairs(2000, 8), false),
        erow('mask', 0.9, pairs(2000, 2), false),
        erow('facemae', 0.9, pairs(2000, 5), false),
      ],
      verdicts: [],
    };
    const t = joinUtility(
      [
        { name: 'new.json', results: newRun, rows: ['facemae-0.9', 'blur-16'] },
        { name: 'old.json', results: oldRun, rows: ['original', 'mask-0.9'] },
      ],
      idOf,
    );
    expect(t.rows.map(idOf)).toEqual(['facemae-0.9', 'blur-16', 'original', 'mask-0.9']);
    expect(t.protocol.mae).toBe('new');
    expect(t.protocol.joined).toEqual([
      { file: 'new.json', rows: ['facemae-0.9', 'blur-16'] },
      { file: 'old.json', rows: ['original', 'mask-0.9'] },
    ]);
    const [facemae, blur, original, mask] = t.rows.map((r) => r.lfw!);
    // the earlier run's differences (to its own FaceMAE) are gone
    expect(mask!.vs.stale).toBeUndefined();
    // same run, per-pair scores: paired
    expect(blur!.vs['facemae-0.9']!.paired).toBeUndefined();
    expect(blur!.vs['facemae-0.9']!.diff).toBeCloseTo(blur!.accuracy - facemae!.accuracy, 12);
    // across runs: unpaired, and wider than the paired interval
    const m = mask!.vs['facemae-0.9']!;
    expect(m.paired).toBe(false);
    expect(m.diff).toBeCloseTo(mask!.accuracy - facemae!.accuracy, 12);
    expect(m.ci95[1] - m.ci95[0]).toBeGreaterThan(
      blur!.vs['facemae-0.9']!.ci95[1] - blur!.vs['facemae-0.9']!.ci95[0],
    );
    expect(m.significant).toBe(true); // 50% against 66.7%
    expect(original!.vs['facemae-0.9']!.paired).toBe(false);
    expect(facemae!.vs.original!.paired).toBe(false);
  });

  it('refuses another recipe, a row named twice, and a row without utility', () => {
    const a: EvidenceResults = { protocol: PROTOCOL, rows: [erow('blur', 16, pairs(100, 3))], verdicts: [] };
    const other: EvidenceResults = { ...a, protocol: { ...PROTOCOL, recognizer: { backbone: 'r18' } } };
    expect(() =>
      joinUtility(
        [
          { name: 'a', results: a },
          { name: 'b', results: other },
        ],
        idOf,
      ),
    ).toThrow(/b: its utility recipe .* differs from a's/);
    expect(() =>
      joinUtility(
        [
          { name: 'a', results: a },
          { name: 'a2', results: a },
        ],
        idOf,
      ),
    ).toThrow(/row "blur-16" is in a and a2/);
    const noUtility: EvidenceResults = { ...a, rows: [{ ...erow('blur', 16, '1'), lfw: null }] };
    expect(() => joinUtility([{ name: 'n', results: noUtility, rows: ['blur-16'] }], idOf)).toThrow(
      /n has no utility for row "blur-16"/,
    );
    expect(() => joinUtility([{ name: 'a', results: a, rows: ['blur-8'] }], idOf)).toThrow(
      /a has no row "blur-8"/,
    );
  });

  it('toEvidence keeps the per-pair scores', () => {
    const d = data();
    d.rows[1]!.utility[SET]!.pairCorrect = '0110';
    expect(toEvidence(d, {}).rows[1]!.lfw!.pairCorrect).toBe('0110');
    expect(toEvidence(d, {}).rows[2]!.lfw!.pairCorrect).toBeUndefined();
  });
});

describe('a verdict on an unpaired difference', () => {
  it('says its interval is unpaired', () => {
    const d = data();
    const vs = d.rows.find((r) => r.id === 'noise-80')!.utility[SET]!.vs!;
    vs['facemae-r0.75'] = { ...vs['facemae-r0.75']!, paired: false };
    const [v] = evidenceVerdicts(d, SET);
    expect(v!.bestBaseline!.paired).toBe(false);
    expect(verdictLines(d)[0]).toMatch(/\[−12\.0, −9\.8, unpaired: rows of different runs\]: loses to it/);
  });
});

describe('attacked rows of several privacy runs in one table (joinPrivacy)', () => {
  const P = {
    seed: 0,
    size: 112,
    split: { dir: '/a/b/celeba' },
    privacyImagesPerIdentity: 4,
    publicImagesPerIdentity: 4,
    mae: { pretrained: '/x/models/m' },
  };
  const prow = (method: string, strength: number, top1: number, pasteBack?: number): EvidenceRow => ({
    method,
    strength,
    ...(pasteBack !== undefined ? { pasteBack } : {}),
    privacy: { mobileface: { instanceTop1: top1, identityTop1: top1, identityTop5: top1 } },
    worstIdentityTop1: top1,
    lfw: null,
    steps: null,
    seconds: 1,
  });
  const idOf = (r: EvidenceRow) =>
    `${r.method}-${r.strength}${r.pasteBack !== undefined ? `-pb${r.pasteBack}` : ''}`;

  it('takes the rows each source names, as it measured them; refuses another model', () => {
    const first: EvidenceResults = {
      protocol: P,
      rows: [prow('facemae', 0.9, 0.16), prow('blur', 16, 0.22)],
      verdicts: [],
    };
    const later: EvidenceResults = {
      protocol: { ...P, parrotSets: ['facemae-0.75-pb0'] },
      rows: [prow('facemae', 0.75, 0.2, 0), prow('blur', 16, 0.23)],
      verdicts: [],
    };
    const t = joinPrivacy(
      [
        { name: 'first', results: first },
        { name: 'later', results: later, rows: ['facemae-0.75-pb0'] },
      ],
      idOf,
    );
    expect(t.rows.map(idOf)).toEqual(['facemae-0.9', 'blur-16', 'facemae-0.75-pb0']);
    expect(t.rows[2]!.worstIdentityTop1).toBe(0.2);
    const otherModel: EvidenceResults = {
      ...later,
      protocol: { ...P, mae: { pretrained: '/x/models/other' } },
    };
    expect(() =>
      joinPrivacy(
        [
          { name: 'first', results: first },
          { name: 'o', results: otherModel, rows: ['facemae-0.75-pb0'] },
        ],
        idOf,
      ),
    ).toThrow(/o: its attack protocol .* differs from first's/);
    expect(() =>
      joinPrivacy(
        [
          { name: 'first', results: first },
          { name: 'later', results: later },
        ],
        idOf,
      ),
    ).toThrow(/row "blur-16" is in first and later/);
  });
});

describe('the baselines a FaceMAE row beats on both axes', () => {
  it('lists the baselines no more private and significantly less useful, and says so', () => {
    const d = data();
    d.rows.push(row('pixelate-16', 'pixelate', 0.5, 0.7, { 'facemae-r0.75': [-0.04, -0.05, -0.03] }));
    // as private as FaceMAE 0.75 but the difference is not significant: not listed
    d.rows.push(row('blur-6', 'blur', 0.4, 0.73, { 'facemae-r0.75': [-0.01, -0.03, 0.01] }));
    const [v75, v9] = evidenceVerdicts(d, SET);
    expect(v75!.dominates).toEqual(['pixelate-16']);
    expect(v9!.dominates).toEqual([]);
    expect(verdictLines(d)[0]).toMatch(
      /It beats pixelate-16 on both axes \(no more re-identified, significantly more useful\)\.$/,
    );
  });
});
