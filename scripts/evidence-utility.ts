/**
 * Joins the utility rows of several sweeps into one results file (src/report/evidence.ts,
 * joinUtility): versions of B whose recognizers were trained by the same recipe in different runs,
 * e.g. a later run that trained only the new rows. Usage:
 *   tsx scripts/evidence-utility.ts OUT SOURCE[@ROW,ROW...] [SOURCE[@ROWS] ...]
 * SOURCE is a results file (a run's report/evidence.json or a docs/results file); @ROWS picks its
 * rows by id (default: every row with utility). The first source's protocol is OUT's. OUT is
 * written atomically; scripts/evidence-adaptive.ts then joins the attacker suite to it.
 */
import fs from 'node:fs';
import { writeJsonAtomic } from '../src/core/fs.js';
import { joinUtility, type EvidenceResults, type UtilitySource } from '../src/report/evidence.js';
import { ROW } from '../src/sweep/step-ids.js';

const [out, ...specs] = process.argv.slice(2);
if (!out || !specs.length) {
  console.error('usage: tsx scripts/evidence-utility.ts OUT SOURCE[@ROW,ROW...] [SOURCE[@ROWS] ...]');
  process.exit(2);
}
const sources: UtilitySource[] = specs.map((spec) => {
  const at = spec.lastIndexOf('@');
  const file = at > 0 ? spec.slice(0, at) : spec;
  let results: EvidenceResults;
  try {
    results = JSON.parse(fs.readFileSync(file, 'utf8')) as EvidenceResults;
  } catch (e) {
    console.error(`${file}: ${(e as Error).message}`);
    process.exit(2);
  }
  if (!Array.isArray(results.rows) || typeof results.protocol !== 'object') {
    console.error(`${file}: not a results file (no "protocol" and "rows")`);
    process.exit(2);
  }
  return {
    name: file,
    results,
    ...(at > 0
      ? {
          rows: spec
            .slice(at + 1)
            .split(',')
            .filter(Boolean),
        }
      : {}),
  };
});
let joined: EvidenceResults;
try {
  joined = joinUtility(sources, ROW.ofEvidence);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
writeJsonAtomic(out, joined);
for (const r of joined.rows)
  console.log(
    `${ROW.ofEvidence(r)}\t${(100 * r.lfw!.accuracy).toFixed(2)}%\t${r.lfw!.pairCorrect ? 'per-pair scores' : 'interval only'}`,
  );
