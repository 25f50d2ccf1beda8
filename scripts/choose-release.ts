/**
 * Applies the validation protocol's rules (docs/METHOD.md, "Choosing without B";
 * src/report/choose.ts) to a validation sweep's results and prints the choice as JSON.
 * Usage: tsx scripts/choose-release.ts RUN/report/results.json [RATIO=0.75]
 */
import fs from 'node:fs';
import { chooseKnob, chooseOnValidation } from '../src/report/choose.js';
import type { ReportData } from '../src/report/types.js';

const [file, ratioArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx scripts/choose-release.ts RUN/report/results.json [RATIO=0.75]\n');
  process.exit(2);
}
const data = JSON.parse(fs.readFileSync(file, 'utf8')) as ReportData;
const set = data.verificationSets[0];
if (!set) throw new Error(`${file} has no verification set`);
const ratio = Number(ratioArg ?? 0.75);
// a sweep without the λ = 0 row (the chosen control's own knobs) takes rule 2 alone
const choice = data.rows.some((r) => r.method === 'facemae-noirm')
  ? chooseOnValidation(data.rows, set, { ratio })
  : chooseKnob(data.rows, set, { ratio });
process.stdout.write(JSON.stringify({ results: file, set, ...choice }, null, 2) + '\n');
