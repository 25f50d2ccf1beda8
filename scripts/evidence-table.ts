/**
 * Prints the markdown tables of docs/EVIDENCE.md ("Utility") from the committed result files.
 * Usage: tsx scripts/evidence-table.ts [FULL=docs/results/celeba-966.json]
 *        [UTILITY=docs/results/celeba-966-utility.json]
 * FULL: both attackers at 1 image per identity; UTILITY: the same rows with mobileface at 4.
 */
import fs from 'node:fs';
import { type EvidenceResults as Evidence, type EvidenceRow as Row } from '../src/report/evidence.js';
import { ROW } from '../src/sweep/step-ids.js';

type Vs = { diff: number; ci95: [number, number] | null; significant: boolean | null };

const [fullFile = 'docs/results/celeba-966.json', utilFile = 'docs/results/celeba-966-utility.json'] =
  process.argv.slice(2);
const full = JSON.parse(fs.readFileSync(fullFile, 'utf8')) as Evidence;
const util = JSON.parse(fs.readFileSync(utilFile, 'utf8')) as Evidence;

const id = (r: Row): string => ROW.ofEvidence(r);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const acc = (x: number): string => (100 * x).toFixed(2);
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(2)}`;
const pts = (v: Vs): string =>
  v.ci95
    ? `${signed(v.diff)} [${signed(v.ci95[0])}, ${signed(v.ci95[1])}]${v.significant ? '' : ' n.s.'}`
    : signed(v.diff);
const pctOrNa = (x: number | null): string => (x === null ? 'n/a' : pct(x));
const utilById = new Map(util.rows.map((r) => [id(r), r]));
const facemae = full.rows.filter((r) => r.method === 'facemae');

console.log(
  '| version | worst-case identity top-1, mobileface (2,554 probes) | worst case of 2 attackers (640 probes) | LFW-6000 accuracy [95% CI] | vs original | vs FaceMAE (IRM) nearest in privacy |',
);
console.log('|---|---:|---:|---|---|---|');
for (const r of full.rows) {
  const u = utilById.get(id(r));
  let near = '—';
  if (r.method !== 'facemae') {
    const f =
      r.method === 'facemae-noirm'
        ? facemae.find((x) => x.strength === r.strength)!
        : [...facemae].sort(
            (a, b) =>
              Math.abs(a.worstIdentityTop1! - r.worstIdentityTop1!) -
              Math.abs(b.worstIdentityTop1! - r.worstIdentityTop1!),
          )[0]!;
    const v = r.lfw?.vs[id(f)];
    if (v) near = `${id(f)}: ${pts(v)}`;
  }
  const vo = r.lfw?.vs.original;
  const ci = r.lfw?.ci95;
  const accCell = r.lfw ? `${acc(r.lfw.accuracy)}%${ci ? ` [${acc(ci[0])}, ${acc(ci[1])}]` : ''}` : 'n/a';
  console.log(
    `| ${id(r)} | ${u ? pctOrNa(u.worstIdentityTop1) : '?'} | ${pctOrNa(r.worstIdentityTop1)} | ${accCell} | ${vo ? pts(vo) : '—'} | ${near} |`,
  );
}
for (const [name, e] of [
  ['privacy as mobileface at 4 images', util],
  ['privacy as the worst of 2 attackers at 1 image', full],
] as const) {
  console.log(`\nVerdicts (${name}):\n`);
  console.log(
    '| FaceMAE (IRM) | its privacy / LFW | best baseline at equal or stronger privacy | FaceMAE − baseline [95% CI] | outcome | error ratio (paper: ≤ 0.5) |',
  );
  console.log('|---|---|---|---|---|---:|');
  for (const v of e.verdicts) {
    const b = v.bestBaseline;
    console.log(
      `| ${v.facemae} | ${pct(v.worstIdentityTop1)} / ${acc(v.accuracy)}% | ${b ? `${b.id} (${pct(b.worstIdentityTop1)} / ${acc(b.accuracy)}%)` : 'none'} | ${b ? pts(b) : '—'} | **${v.outcome}** | ${b ? b.errorRatio.toFixed(2) : '—'} |`,
    );
  }
}
