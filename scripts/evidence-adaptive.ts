/**
 * Puts the adaptive audit into the evidence: the attacker suite's figures (a privacy-only sweep
 * over the same rows, 4 images per identity: configs/celeba-966-adaptive.json) join each row's
 * attackers in the full results file, whose worst case, frozen baseline and verdicts are then
 * recomputed. Usage:
 *   tsx scripts/evidence-adaptive.ts [FULL=docs/results/celeba-966.json]
 *        [ADAPTIVE=docs/results/celeba-966-adaptive.json] [REPORT] [TITLE]
 * FULL is rewritten in place (atomically); its utility columns are kept as they are. The report
 * page beside it (REPORT=docs/results/celeba-966-report: index.html, results.md) is redrawn from
 * the merged rows, its plot on the worst case; its image grid is kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wilson95 } from '../src/attack/attack.js';
import { writeJsonAtomic } from '../src/core/fs.js';
import { verdictsOf, versionLabel, type EvidenceResults, type EvidenceRow } from '../src/report/evidence.js';
import { ROW } from '../src/sweep/step-ids.js';
import { paretoFrontier } from '../src/report/plot.js';
import { renderMarkdownTable } from '../src/report/render.js';
import type { ReportData, ReportRow } from '../src/report/types.js';
import { writeReport } from '../src/report/write.js';

const [
  fullFile = 'docs/results/celeba-966.json',
  adaptiveFile = 'docs/results/celeba-966-adaptive.json',
  reportDir = 'docs/results/celeba-966-report',
  title = 'FaceMAE privacy–utility: CelebA-966, under the adaptive audit',
] = process.argv.slice(2);
const full = JSON.parse(fs.readFileSync(fullFile, 'utf8')) as EvidenceResults;
const adaptive = JSON.parse(fs.readFileSync(adaptiveFile, 'utf8')) as EvidenceResults;
const adaptiveById = new Map(adaptive.rows.map((r) => [ROW.ofEvidence(r), r]));
// rows without utility were appended by an earlier merge (the full sweep trains every row): they
// are made again below, so the script can be run twice
full.rows = full.rows.filter((r) => r.lfw !== null);
const fullProbes = Number((full.protocol.privacyImagesPerIdentity as number | null) ?? 1) * 640;
const adaptiveProbes = Number(adaptive.protocol.privacyImagesPerIdentity ?? 4);

type Entry = EvidenceRow['privacy'][string];
const isFrozen = (name: string) => !name.includes('+');
const ownAttackers = new Set((full.protocol.attackers as string[] | undefined) ?? []);

for (const row of full.rows) {
  const a = adaptiveById.get(ROW.ofEvidence(row));
  if (!a) throw new Error(`${adaptiveFile} has no row ${ROW.ofEvidence(row)}`);
  const merged: Record<string, Entry> = {};
  // the full sweep's own attackers (1 image per identity) keep their names; what an earlier merge
  // added is replaced, so the script can be run again
  for (const [name, p] of Object.entries(row.privacy))
    if (ownAttackers.has(name)) merged[name] = { ...p, probes: (p as Entry).probes ?? fullProbes };
  // the suite's (4 per identity); its frozen mobileface is the same network on more probes
  for (const [name, p] of Object.entries(a.privacy)) {
    merged[merged[name] ? `${name}@${adaptiveProbes}` : name] = p;
  }
  let worst: [string, Entry] | undefined;
  for (const [name, e] of Object.entries(merged))
    if (!worst || e.identityTop1 > worst[1].identityTop1) worst = [name, e];
  const [wName, w] = worst!;
  row.privacy = merged;
  row.worstIdentityTop1 = w.identityTop1;
  row.worstAttacker = wName;
  row.worstCi95 = wilson95(w.identityTop1, w.probes ?? fullProbes);
  row.frozenIdentityTop1 = Math.max(
    ...Object.entries(merged)
      .filter(([n]) => isFrozen(n))
      .map(([, e]) => e.identityTop1),
  );
}
for (const [id, a] of adaptiveById)
  if (!full.rows.some((r) => ROW.ofEvidence(r) === id)) {
    const top = Object.entries(a.privacy).sort((x, y) => y[1].identityTop1 - x[1].identityTop1)[0]!;
    full.rows.push({
      ...a,
      worstIdentityTop1: top[1].identityTop1,
      worstAttacker: top[0],
      worstCi95: wilson95(top[1].identityTop1, top[1].probes ?? adaptiveProbes * 640),
      frozenIdentityTop1: Math.max(
        ...Object.entries(a.privacy)
          .filter(([n]) => isFrozen(n))
          .map(([, e]) => e.identityTop1),
      ),
      lfw: null,
    });
  }
// one order in tables and plots: the original, FaceMAE by knob and ratio, then each baseline family
const FAMILY = ['original', 'facemae', 'facemae-noirm', 'mask', 'blur', 'pixelate', 'noise', 'pixnoise'];
const family = (m: string) => (FAMILY.includes(m) ? FAMILY.indexOf(m) : FAMILY.length);
full.rows.sort(
  (a, b) =>
    family(a.method) - family(b.method) ||
    (b.pasteBack ?? 1) - (a.pasteBack ?? 1) ||
    (a.strength ?? 0) - (b.strength ?? 0),
);
full.verdicts = verdictsOf(
  full.rows.map((r) => ({
    id: ROW.ofEvidence(r),
    method: r.method,
    worstIdentityTop1: r.worstIdentityTop1,
    accuracy: r.lfw?.accuracy,
    vs: r.lfw?.vs,
  })),
);
full.protocol.adaptive = { file: adaptiveFile, ...adaptive.protocol };
// paths as the configs give them, relative to the repository (no machine paths in docs)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const relative = <T>(v: T): T =>
  JSON.parse(
    JSON.stringify(v)
      .replaceAll(`${path.dirname(root)}/shared/`, '../shared/')
      .replaceAll(`${root}/`, ''),
  ) as T;
full.protocol = relative(full.protocol);
writeJsonAtomic(fullFile, full);

const pct = (x: number | null | undefined) => (x == null ? '—' : `${(100 * x).toFixed(1)}%`);
const acc = (x: number) => (100 * x).toFixed(2);
const by = (r: EvidenceRow, name: string) => r.privacy[name]?.identityTop1;
console.log(
  '| version | frozen (best of 3) | +reversal | +adaptation | +pooling | +parrot | worst case [95%] | LFW-6000 [95%] |',
);
console.log('|---|---:|---:|---:|---:|---:|---|---|');
for (const r of full.rows) {
  const lfw = r.lfw
    ? `${acc(r.lfw.accuracy)}%${r.lfw.ci95 ? ` [${acc(r.lfw.ci95[0])}, ${acc(r.lfw.ci95[1])}]` : ''}`
    : 'not run';
  const w = `**${pct(r.worstIdentityTop1)}** [${pct(r.worstCi95?.[0])}, ${pct(r.worstCi95?.[1])}] ${r.worstAttacker?.replace('mobileface', 'mf')}`;
  console.log(
    `| ${ROW.ofEvidence(r)} | ${pct(r.frozenIdentityTop1)} | ${pct(by(r, 'mobileface+reversal'))} | ${pct(by(r, 'mobileface+adaptation'))} | ${pct(by(r, 'mobileface+pooling'))} | ${pct(by(r, 'mobileface+parrot'))} | ${w} | ${lfw} |`,
  );
}
console.log('');
console.log(
  '| FaceMAE | worst case / LFW | best baseline at equal or stronger privacy | FaceMAE − baseline [95%] | outcome | error ratio | beats on both axes |',
);
console.log('|---|---|---|---|---|---:|---|');
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(2)}`;
for (const v of full.verdicts) {
  const b = v.bestBaseline;
  console.log(
    `| ${v.facemae} | ${pct(v.worstIdentityTop1)} / ${acc(v.accuracy)}% | ${b ? `${b.id} (${pct(b.worstIdentityTop1)} / ${acc(b.accuracy)}%)` : '—'} | ${b ? `${signed(b.diff)}${b.ci95 ? ` [${signed(b.ci95[0])}, ${signed(b.ci95[1])}]` : ''}` : '—'} | **${v.outcome}** | ${b ? b.errorRatio.toFixed(2) : '—'} | ${v.dominates.join(', ') || '—'} |`,
  );
}
// the frontier: the rows with utility no other row beats on both axes
const front = paretoFrontier(
  full.rows
    .filter((r) => r.lfw && r.worstIdentityTop1 !== null)
    .map((r) => ({ id: ROW.ofEvidence(r), x: r.worstIdentityTop1!, y: r.lfw!.accuracy })),
);
console.log('');
console.log(
  `frontier (least re-identified first): ${front.map((p) => `${p.id} (${pct(p.x)}, ${acc(p.y)}%)`).join(' → ')}`,
);

// The report page, redrawn from the merged rows.
const set = String((full.protocol.verify as string[] | undefined)?.[0] ?? 'lfw');
const rows: ReportRow[] = full.rows.map((r) => {
  const figures = (p: EvidenceRow['privacy'][string]) => ({
    ...p,
    identityTop10: NaN,
    meanCosineToSource: NaN,
  });
  const byAttacker = Object.fromEntries(Object.entries(r.privacy).map(([a, p]) => [a, figures(p)]));
  return {
    id: ROW.ofEvidence(r),
    method: r.method,
    label: versionLabel(r.method, r.strength, r.pasteBack),
    ...(r.strength !== null ? { strength: r.strength } : {}),
    ...(r.pasteBack !== undefined ? { pasteBack: r.pasteBack } : {}),
    privacy: r.worstAttacker ? byAttacker[r.worstAttacker] : undefined,
    privacyByAttacker: byAttacker,
    worstAttacker: r.worstAttacker ?? undefined,
    worstCi95: r.worstCi95 ?? undefined,
    frozenIdentityTop1: r.frozenIdentityTop1 ?? undefined,
    utility: r.lfw
      ? { [set]: { accuracy: r.lfw.accuracy, std: NaN, ci95: r.lfw.ci95 ?? undefined, vs: r.lfw.vs } }
      : {},
    status: r.lfw ? 'ok' : 'partial',
    notes: [
      `identity top-1 by attacker: ${Object.entries(r.privacy)
        .map(
          ([a, p]) =>
            `${a} ${(100 * p.identityTop1).toFixed(1)}%${p.probes ? ` (${p.probes} ${p.unit === 'label' ? 'labels' : 'probes'})` : ''}`,
        )
        .join(', ')}`,
      ...(r.lfw ? [] : ['utility not run for this row']),
    ],
  };
});
const names = [...new Set(full.rows.flatMap((r) => Object.keys(r.privacy)))];
const data: ReportData = {
  title,
  createdAt: new Date().toISOString(),
  attacker: names.join(', '),
  teacher: String(full.protocol.teacher ?? ''),
  verificationSets: [set],
  rows,
  chance: { instanceTop1: NaN, identityTop1: NaN, identityTop5: NaN, identityTop10: NaN },
  grids: fs.existsSync(`${reportDir}/grid.png`)
    ? [
        {
          file: 'grid.png',
          columns: [
            'original',
            ...((full.protocol.maskRatios as number[]) ?? []).flatMap((m) => [`masked ${m}`, `FaceMAE ${m}`]),
            ...((full.protocol.baselines as { method: string; strength: number }[]) ?? []).map(
              (b) => `${b.method} ${b.strength}`,
            ),
          ],
          cell: Number(full.protocol.size ?? 112),
          pad: 4,
          caption:
            "One image of each of the first deployment identities: the original, what FaceMAE's encoder saw and its reconstruction at each mask ratio, and each baseline.",
        },
      ]
    : [],
  config: full.protocol,
  notes: [
    `Privacy columns: the worst case over the attackers (${names.join(', ')}; "@4": the same network at 4 images per identity); "frozen" is the strongest attacker that never saw a protected face. Utility: r-tiny trained on each version, all 6,000 LFW pairs${full.protocol.joined ? '; rows trained in different runs are compared by unpaired intervals' : ''}. Made by scripts/evidence-adaptive.ts from the two result files (docs/EVIDENCE.md).`,
  ],
  steps: [],
};
await writeReport(reportDir, data);
fs.writeFileSync(`${reportDir}/results.md`, renderMarkdownTable(data));
