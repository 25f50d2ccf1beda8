/**
 * The sweep report: a pure function from results to one self-contained HTML page (inline CSS and
 * SVG; image grids are referenced as PNG files beside it) plus the asset files to write with it.
 */
import { esc, METHOD_COLORS, privacyUtilityPlot, setLabel } from './plot.js';
import type { PrivacyFigures, ReportData, ReportRow, UtilityFigures } from './types.js';
import { evidenceSet, evidenceVerdicts } from './evidence.js';

export interface ReportAsset {
  /** Relative to the report folder. */
  path: string;
  data: string | Uint8Array;
}

const pct = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(1)}%`;

/** A pooled (label-level) attack has no per-image instance figure. */
const instance = (p: PrivacyFigures | undefined) => (p?.unit === 'label' ? undefined : p?.instanceTop1);

const cos = (p: PrivacyFigures | undefined) =>
  p && Number.isFinite(p.meanCosineToSource) ? p.meanCosineToSource.toFixed(3) : '—';

/** "[lo, hi]" (95% bootstrap interval over pairs) when known, else the 10-fold "± std". */
function ciText(u: UtilityFigures): string {
  return u.ci95
    ? `[${(u.ci95[0] * 100).toFixed(1)}, ${(u.ci95[1] * 100).toFixed(1)}]`
    : `± ${(u.std * 100).toFixed(1)}`;
}

/** Paired differences to the reference rows; a difference whose interval holds 0 is marked n.s. */
function vsText(u: UtilityFigures): string[] {
  return Object.entries(u.vs ?? {}).map(
    ([ref, d]) =>
      `vs ${ref}: ${d.diff >= 0 ? '+' : '−'}${Math.abs(d.diff * 100).toFixed(1)} pts${d.significant ? '' : ' (n.s.)'}`,
  );
}

const vsHtml = (u: UtilityFigures) =>
  vsText(u)
    .map((t) => `<br><small class="${/n\.s\./.test(t) ? 'ns' : 'sig'}">${esc(t)}</small>`)
    .join('');

function rowHtml(r: ReportRow, sets: string[]): string {
  const p = r.privacy;
  const cells = [
    `<td><span class="dot" style="background:${METHOD_COLORS[r.method] ?? '#777'}"></span>${esc(r.label)}</td>`,
    `<td class="st-${r.status.replace(/ /g, '-')}">${esc(r.status)}</td>`,
    `<td>${pct(r.frozenIdentityTop1)}</td>`,
    `<td>${pct(instance(p))}</td>`,
    `<td><b>${pct(p?.identityTop1)}</b>${r.worstCi95 ? ` <small>[${pct(r.worstCi95[0])}, ${pct(r.worstCi95[1])}]</small>` : ''}${r.worstAttacker ? `<br><small>${esc(r.worstAttacker)}</small>` : ''}</td>`,
    `<td>${pct(p?.identityTop5)}</td>`,
    `<td>${pct(p?.identityTop10)}</td>`,
    `<td>${cos(p)}</td>`,
    ...sets.map((s) => {
      const u = r.utility[s];
      return `<td>${u ? `${pct(u.accuracy)} <small>${esc(ciText(u))}</small>${vsHtml(u)}` : '—'}</td>`;
    }),
    `<td class="notes">${r.notes.map(esc).join('<br>')}</td>`,
  ];
  return `<tr data-row="${esc(r.id)}">${cells.join('')}</tr>`;
}

const pts = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}`;

/**
 * One sentence per FaceMAE row: the best baseline at equal or stronger privacy, the paired
 * difference, and whether FaceMAE's error is at most half the baseline's (the paper's claim).
 */
export function verdictLines(data: ReportData): string[] {
  const set = evidenceSet(data);
  const label = new Map(data.rows.map((r) => [r.id, r.label]));
  return evidenceVerdicts(data, set).map((v) => {
    const head = `${label.get(v.facemae) ?? v.facemae} (worst-case identity top-1 ${pct(v.worstIdentityTop1)}, ${set ? setLabel(set) : ''} ${pct(v.accuracy)})`;
    const b = v.bestBaseline;
    const dominated = v.dominates.length
      ? ` It beats ${v.dominates.map((id) => label.get(id) ?? id).join('; ')} on both axes (no more re-identified, significantly more useful).`
      : '';
    if (!b) return `${head}: no baseline with utility is as private.${dominated}`;
    const ci = b.ci95
      ? ` [${pts(b.ci95[0])}, ${pts(b.ci95[1])}${b.paired === false ? ', unpaired: rows of different runs' : ''}]`
      : '';
    const outcome = {
      beats: 'beats it',
      loses: 'loses to it',
      'n.s.': 'no significant difference',
      'not tested': `${b.diff > 0 ? 'ahead' : 'behind'} on the point estimates, not tested (no per-pair scores)`,
    }[v.outcome as 'beats' | 'loses' | 'n.s.' | 'not tested'];
    return (
      `${head}: the best baseline at equal or stronger privacy is ${label.get(b.id) ?? b.id} (${pct(b.worstIdentityTop1)}, ${pct(b.accuracy)}); ` +
      `FaceMAE ${pts(b.diff)} pts${ci}: ${outcome}; error ratio ${b.errorRatio.toFixed(2)} ` +
      `(≥ 50% lower error: ${v.halvesError ? 'reached' : 'not reached'}).${dominated}`
    );
  });
}

/** The privacy–utility table as Markdown (results.md beside the report, for docs). */
export function renderMarkdownTable(data: ReportData): string {
  const sets = data.verificationSets;
  const head = [
    'method',
    'frozen identity top-1',
    'instance top-1',
    'identity top-1 (worst case)',
    'identity top-5',
    'identity top-10',
    'cos to source',
    ...sets.map((s) => `${setLabel(s)} acc`),
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of data.rows) {
    const p = r.privacy;
    const cells = [
      r.label + (r.status === 'ok' ? '' : ` (${r.status})`),
      pct(r.frozenIdentityTop1),
      pct(instance(p)),
      `${pct(p?.identityTop1)}${r.worstCi95 ? ` [${pct(r.worstCi95[0])}, ${pct(r.worstCi95[1])}]` : ''}${r.worstAttacker ? ` (${r.worstAttacker})` : ''}`,
      pct(p?.identityTop5),
      pct(p?.identityTop10),
      cos(p),
      ...sets.map((s) => {
        const u = r.utility[s];
        return u ? [`${pct(u.accuracy)} ${ciText(u)}`, ...vsText(u)].join('; ') : '—';
      }),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const c = data.chance;
  lines.push(
    `| *chance* | | ${pct(c.instanceTop1)} | ${pct(c.identityTop1)} | ${pct(c.identityTop5)} | ${pct(c.identityTop10)} | | ${sets.map(() => '50.0%').join(' | ')} |`,
  );
  const verdicts = verdictLines(data);
  if (verdicts.length) lines.push('', ...verdicts.map((v) => `- ${v}`));
  return lines.join('\n') + '\n';
}

export function renderReport(data: ReportData): { html: string; assets: ReportAsset[] } {
  const sets = data.verificationSets;
  const head = [
    'method',
    'status',
    'frozen identity top-1',
    'instance top-1',
    'identity top-1 (worst case)',
    'identity top-5',
    'identity top-10',
    'cos to source',
    ...sets.map((s) => `${setLabel(s)} acc`),
    'notes',
  ];
  const c = data.chance;
  const chanceRow = `<tr class="chance"><td>chance</td><td></td><td></td><td>${pct(c.instanceTop1)}</td><td>${pct(c.identityTop1)}</td><td>${pct(c.identityTop5)}</td><td>${pct(c.identityTop10)}</td><td></td>${sets.map(() => '<td>50.0%</td>').join('')}<td></td></tr>`;
  const plots = sets.length
    ? sets
        .map(
          (s) =>
            `<figure>${privacyUtilityPlot(data.rows, s)}<figcaption>Privacy–utility on ${esc(setLabel(s))}: each point is one protected version of the deployment set; up and left is better.</figcaption></figure>`,
        )
        .join('\n')
    : '<p>No verification set configured.</p>';
  const grids = data.grids
    .map(
      (g) => `<figure class="grid">
<div class="cols" style="gap:${g.pad}px;padding:0 ${g.pad}px">${g.columns.map((c) => `<span style="width:${g.cell}px">${esc(c)}</span>`).join('')}</div>
<img src="${esc(g.file)}" alt="${esc(g.caption)}">
<figcaption>${esc(g.caption)}</figcaption></figure>`,
    )
    .join('\n');
  const steps = data.steps
    .map(
      (s) =>
        `<tr><td>${esc(s.id)}</td><td class="st-${esc(s.status)}">${esc(s.status)}</td><td>${s.seconds !== undefined ? s.seconds.toFixed(1) : ''}</td><td class="notes">${esc(s.error ?? '')}</td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(data.title)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
table{border-collapse:collapse;font-size:14px;margin:1rem 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:first-child,th:first-child,td.notes{text-align:left}
td.notes{font-size:12px;color:#666;max-width:22rem}
tr.chance td{color:#888;font-style:italic}
.dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:6px}
.st-failed,.st-not-available{color:#b00}
.st-partial{color:#a60}
small.ns{color:#888}
small.sig{color:#222;font-weight:600}
figure{margin:1rem 0}
.grid .cols{display:flex;font-size:12px;color:#444}
.grid .cols span{text-align:center;overflow:hidden;white-space:nowrap}
.grid img{display:block;image-rendering:pixelated}
pre{background:#f6f6f6;padding:1rem;overflow:auto;font-size:12px}
</style></head>
<body>
<h1>${esc(data.title)}</h1>
<p>Created ${esc(data.createdAt)}. Attackers: <code>${esc(data.attacker)}</code>. The privacy of a version is the worst case over them (the attacker with the highest identity top-1, with its 95% interval; each one's figure is in the row's notes); the adaptive attackers know the protection and fit on the public set, and "frozen" is the strongest recognizer that never saw a protected face, what a non-adaptive audit would report; IRM teacher: <code>${esc(data.teacher)}</code>.
Each protected image of the deployment set is a probe against the gallery of all original deployment images, embedded by the attacker
(identities ranked by their nearest gallery image; the gallery includes the probe's own source). Utility: the same recognizer trained on each
version of the deployment set, verified on ${sets.map((s) => `<code>${esc(s)}</code>`).join(', ') || 'no set'}; brackets give the 95% bootstrap interval over pairs,
and "vs" lines the paired difference to the original and to each FaceMAE row (read the one nearest the row's privacy), marked n.s. when its 95% interval contains 0 (such a difference may be noise).</p>
${data.notes.length ? `<ul class="run-notes">${data.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
${(() => {
  const v = verdictLines(data);
  return v.length
    ? `<h2>Does FaceMAE beat the baselines?</h2>\n<ul id="verdicts">${v.map((t) => `<li>${esc(t)}</li>`).join('')}</ul>`
    : '';
})()}
<h2>Privacy–utility table</h2>
<table id="results"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${data.rows.map((r) => rowHtml(r, sets)).join('\n')}
${chanceRow}
</tbody></table>
<h2>Privacy–utility plot</h2>
${plots}
<h2>Image grids</h2>
${grids || '<p>No image grids.</p>'}
<h2>Steps</h2>
<table id="steps"><thead><tr><th>step</th><th>status</th><th>seconds</th><th>note</th></tr></thead><tbody>
${steps}
</tbody></table>
<h2>Resolved config</h2>
<pre id="config">${esc(JSON.stringify(data.config, null, 2))}</pre>
</body></html>
`;
  return {
    html,
    assets: [
      { path: 'results.json', data: JSON.stringify(data, null, 2) + '\n' },
      { path: 'results.md', data: renderMarkdownTable(data) },
    ],
  };
}
