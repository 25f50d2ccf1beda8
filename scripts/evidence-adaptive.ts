/**
 * Puts the adaptive audit into the evidence: the attacker suite's figures (a privacy-only sweep
 * over the same rows, 4 images per identity: configs/celeba-966-adaptive.json) join each row's
 * attackers in the full results file, whose worst case, frozen baseline and verdicts are then
 * recomputed. Usage:
 *   tsx scripts/evidence-adaptive.ts [FULL=docs/results/celeba-966.json]
 *        [ADAPTIVE=docs/results/celeba-966-adaptive.json]
 * FULL is rewritten in place (atomically); its utility columns are kept as they are.
 */
import fs from 'node:fs';
import { wilson95 } from '../src/attack/attack.js';
import { writeJsonAtomic } from '../src/core/fs.js';
import { evidenceRowId, verdictsOf, type EvidenceResults, type EvidenceRow } from '../src/report/evidence.js';

const [fullFile = 'docs/results/celeba-966.json', adaptiveFile = 'docs/results/celeba-966-adaptive.json'] =
  process.argv.slice(2);
const full = JSON.parse(fs.readFileSync(fullFile, 'utf8')) as EvidenceResults;
const adaptive = JSON.parse(fs.readFileSync(adaptiveFile, 'utf8')) as EvidenceResults;
const adaptiveById = new Map(adaptive.rows.map((r) => [evidenceRowId(r), r]));
const fullProbes = Number((full.protocol.privacyImagesPerIdentity as number | null) ?? 1) * 640;
const adaptiveProbes = Number(adaptive.protocol.privacyImagesPerIdentity ?? 4);

type Entry = EvidenceRow['privacy'][string];
const isFrozen = (name: string) => !name.includes('+');

for (const row of full.rows) {
  const a = adaptiveById.get(evidenceRowId(row));
  if (!a) throw new Error(`${adaptiveFile} has no row ${evidenceRowId(row)}`);
  const merged: Record<string, Entry> = {};
  // the full file's attackers (1 image per identity) keep their names
  for (const [name, p] of Object.entries(row.privacy))
    if (!name.includes('@')) merged[name] = { ...p, probes: (p as Entry).probes ?? fullProbes };
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
full.verdicts = verdictsOf(
  full.rows.map((r) => ({
    id: evidenceRowId(r),
    method: r.method,
    worstIdentityTop1: r.worstIdentityTop1,
    accuracy: r.lfw?.accuracy,
    vs: r.lfw?.vs,
  })),
);
full.protocol.adaptive = { file: adaptiveFile, ...adaptive.protocol };
writeJsonAtomic(fullFile, full);

const pct = (x: number | null | undefined) => (x == null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
console.log('| version | frozen | worst case [95%] | by | LFW |');
console.log('|---|---:|---:|---|---:|');
for (const r of full.rows)
  console.log(
    `| ${evidenceRowId(r)} | ${pct(r.frozenIdentityTop1)} | ${pct(r.worstIdentityTop1)} [${pct(r.worstCi95?.[0])}, ${pct(r.worstCi95?.[1])}] | ${r.worstAttacker} | ${pct(r.lfw?.accuracy)} |`,
  );
for (const v of full.verdicts)
  console.log(
    `${v.facemae}: ${v.outcome}${v.bestBaseline ? ` vs ${v.bestBaseline.id} (${(100 * v.bestBaseline.diff).toFixed(1)} points, error ratio ${v.bestBaseline.errorRatio.toFixed(2)})` : ''}`,
  );
