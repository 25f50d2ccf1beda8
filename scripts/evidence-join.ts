/**
 * Joins the rows of several sweeps into one results file (src/report/evidence.ts):
 *   tsx scripts/evidence-join.ts utility OUT SOURCE[@ROW,ROW...] [SOURCE[@ROWS] ...]
 *   tsx scripts/evidence-join.ts privacy OUT SOURCE[@ROW,ROW...] [SOURCE[@ROWS] ...]
 * `utility` (joinUtility): versions of B whose recognizers the same recipe trained in different
 * runs, e.g. a later run that trained only the new rows; the differences are measured again.
 * `privacy` (joinPrivacy): rows the same attack protocol measured in different runs, e.g. a run
 * that added parrots. SOURCE is a results file (a run's report/evidence.json or a docs/results
 * file); @ROWS picks its rows by id (default: every row the join can use). The first source's
 * protocol is OUT's. OUT is written atomically; scripts/evidence-adaptive.ts then joins the
 * attacker suite (a `privacy` table) to the `utility` one.
 */
import fs from 'node:fs';
import { writeJsonAtomic } from '../src/core/fs.js';
import { joinPrivacy, joinUtility, type EvidenceResults, type JoinSource } from '../src/report/evidence.js';
import { ROW } from '../src/sweep/step-ids.js';

const [mode, out, ...specs] = process.argv.slice(2);
if ((mode !== 'utility' && mode !== 'privacy') || !out || !specs.length) {
  console.error(
    'usage: tsx scripts/evidence-join.ts utility|privacy OUT SOURCE[@ROW,ROW...] [SOURCE[@ROWS] ...]',
  );
  process.exit(2);
}
const sources: JoinSource[] = specs.map((spec) => {
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
  joined = (mode === 'utility' ? joinUtility : joinPrivacy)(sources, ROW.ofEvidence);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
writeJsonAtomic(out, joined);
const pct = (x: number | null | undefined) => (x == null ? '—' : `${(100 * x).toFixed(2)}%`);
for (const r of joined.rows)
  console.log(
    mode === 'utility'
      ? `${ROW.ofEvidence(r)}\t${pct(r.lfw?.accuracy)}\t${r.lfw?.pairCorrect ? 'per-pair scores' : 'interval only'}`
      : `${ROW.ofEvidence(r)}\t${pct(r.worstIdentityTop1)}\t${Object.keys(r.privacy).join(', ')}`,
  );
