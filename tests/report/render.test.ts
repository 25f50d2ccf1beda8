import { describe, expect, it } from 'vitest';
import { setLabel } from '../../src/report/plot.js';
import { renderReport } from '../../src/report/render.js';
import type { ReportData } from '../../src/report/types.js';

const data = (): ReportData => ({
  title: 'FaceMAE privacy–utility sweep: t',
  createdAt: '2026-01-01T00:00:00Z',
  attacker: 'faceplugin',
  teacher: 'runs/x/teacher',
  verificationSets: ['lfw:/a/b/c/verify'],
  rows: [
    {
      id: 'original',
      method: 'original',
      label: 'original <script>alert(1)</script>',
      privacy: { instanceTop1: 1, identityTop1: 1, identityTop5: 1, identityTop10: 1, meanCosineToSource: 1 },
      utility: { 'lfw:/a/b/c/verify': { accuracy: 0.9, std: 0.01 } },
      status: 'ok',
      notes: [],
    },
    {
      id: 'facemae-r0.75',
      method: 'facemae',
      label: 'FaceMAE, mask ratio 0.75',
      strength: 0.75,
      utility: {},
      status: 'not available',
      notes: ['privacy not available (x)', 'utility not available (y)'],
    },
  ],
  chance: { instanceTop1: 0.01, identityTop1: 0.04, identityTop5: 0.2, identityTop10: 0.4 },
  grids: [],
  config: { a: 1 },
  notes: [],
  steps: [{ id: 'mae', status: 'failed', error: 'boom' }],
});

describe('renderReport', () => {
  it('renders the table, the plot (one point per row with both figures) and escapes text', () => {
    const { html, assets } = renderReport(data());
    expect(html).toContain('original &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html.match(/<circle class="pt"/g)?.length).toBe(1);
    expect(html).toContain('lfw:…/c/verify acc');
    expect(html).toContain('class="st-not-available">not available');
    expect(html).toMatch(/<tr class="chance">.*4\.0%/);
    expect(html).toContain('90.0% <small>± 1.0</small>');
    expect(assets.map((a) => a.path)).toEqual(['results.json', 'results.md']);
    expect(assets[1]!.data).toContain('| FaceMAE, mask ratio 0.75 (not available) | — |');
    expect(JSON.parse(assets[0]!.data as string).rows).toHaveLength(2);
  });

  it('shortens set specs for labels', () => {
    expect(setLabel('lfw:/x/y/z')).toBe('lfw:…/y/z');
    expect(setLabel('bin:agedb_30.bin')).toBe('bin:agedb_30.bin');
  });
});

describe('renderReport: confidence intervals', () => {
  it('shows the bootstrap interval, error bars, and marks a difference whose interval holds 0 as n.s.', () => {
    const d = data();
    const set = 'lfw:/a/b/c/verify';
    d.rows[0]!.utility[set] = { accuracy: 0.9, std: 0.01, ci95: [0.89, 0.91] };
    d.rows.push(
      {
        id: 'blur-4',
        method: 'blur',
        label: 'blur, sigma 4',
        strength: 4,
        privacy: {
          instanceTop1: 0.5,
          identityTop1: 0.6,
          identityTop5: 0.8,
          identityTop10: 0.9,
          meanCosineToSource: 0.5,
        },
        utility: {
          [set]: {
            accuracy: 0.895,
            std: 0.01,
            ci95: [0.885, 0.905],
            vs: { original: { diff: -0.005, ci95: [-0.012, 0.002], p: 0.2, significant: false } },
          },
        },
        status: 'ok',
        notes: [],
      },
      {
        id: 'noise-40',
        method: 'noise',
        label: 'noise, std 40',
        strength: 40,
        privacy: {
          instanceTop1: 0.3,
          identityTop1: 0.4,
          identityTop5: 0.6,
          identityTop10: 0.7,
          meanCosineToSource: 0.4,
        },
        utility: {
          [set]: {
            accuracy: 0.8,
            std: 0.01,
            ci95: [0.79, 0.81],
            vs: { original: { diff: -0.1, ci95: [-0.11, -0.09], p: 0, significant: true } },
          },
        },
        status: 'ok',
        notes: [],
      },
    );
    const { html, assets } = renderReport(d);
    expect(html).toContain('[88.5, 90.5]');
    expect(html).toContain('vs original: −0.5 pts (n.s.)');
    expect(html).toContain('vs original: −10.0 pts<');
    expect(html.match(/class="err"/g)).toHaveLength(3);
    const md = assets.find((a) => a.path === 'results.md')!.data as string;
    expect(md).toContain('89.5% [88.5, 90.5]; vs original: −0.5 pts (n.s.)');
  });
});

describe('the privacy–utility frontier', () => {
  it('keeps exactly the points no other point beats on both axes', async () => {
    const { paretoFrontier } = await import('../../src/report/plot.js');
    const pts = [
      { id: 'a', x: 0.2, y: 0.7 },
      { id: 'b', x: 0.5, y: 0.7 }, // beaten by a (as useful, more private)
      { id: 'c', x: 0.5, y: 0.8 },
      { id: 'd', x: 0.9, y: 0.75 }, // beaten by c
      { id: 'e', x: 1, y: 0.9 },
      { id: 'f', x: 0.1, y: 0.5 },
    ];
    expect(paretoFrontier(pts).map((p) => p.id)).toEqual(['f', 'a', 'c', 'e']);
    expect(paretoFrontier([])).toEqual([]);
  });

  it('draws the frontier and one curve per release knob of FaceMAE', () => {
    const row = (id: string, method: string, x: number, y: number, extra = {}) => ({
      id,
      method,
      label: id,
      privacy: { instanceTop1: x, identityTop1: x, identityTop5: x, identityTop10: x, meanCosineToSource: 0 },
      utility: { 'lfw:/a/b/c/verify': { accuracy: y, std: 0.01 } },
      status: 'ok' as const,
      notes: [],
      ...extra,
    });
    const d = data();
    d.rows = [
      row('original', 'original', 1, 0.9),
      row('facemae-r0.75', 'facemae', 0.8, 0.8, { strength: 0.75 }),
      row('facemae-r0.9', 'facemae', 0.2, 0.7, { strength: 0.9 }),
      row('facemae-r0.75-pb0', 'facemae', 0.6, 0.78, { strength: 0.75, pasteBack: 0 }),
      row('facemae-r0.9-pb0', 'facemae', 0.15, 0.69, { strength: 0.9, pasteBack: 0 }),
      row('blur-8', 'blur', 0.9, 0.7, { strength: 8 }),
    ];
    const { html } = renderReport(d);
    expect(html).toContain('>facemae, paste-back 0</text>');
    expect((html.match(/<polyline /g) ?? []).length).toBe(2); // facemae, facemae pb0 (blur has one point)
    const frontier = /<path class="frontier"[^>]*><title>frontier: ([^<]*)<\/title>/.exec(html);
    expect(frontier?.[1]).toBe('facemae-r0.9-pb0; facemae-r0.9; facemae-r0.75-pb0; facemae-r0.75; original');
  });
});
