/**
 * Measures `facemae align` against insightface's LFW crops (a script, not a vitest file):
 *   npx tsx tests/align/eval-lfw.ts [--detector faceplugin|scrfd:FILE.onnx] [--data DIR] [--ref DIR] [--out DIR]
 * Prints one JSON line: detection rate and the cosine (faceplugin recognizer) between our crop and
 * insightface's crop of the same photo.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { measureAgainstInsightface } from './lfw-check.js';

const shared = path.resolve(import.meta.dirname, '../../../shared');
const { values } = parseArgs({
  options: {
    detector: { type: 'string', default: 'faceplugin' },
    data: { type: 'string', default: path.join(shared, 'data/lfw-raw-sample/images') },
    ref: { type: 'string', default: path.join(shared, 'data/lfw-aligned-112/images') },
    out: { type: 'string' },
  },
});
const out = values.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'align-eval-'));
const r = await measureAgainstInsightface({
  detector: values.detector as string,
  data: values.data as string,
  ref: values.ref as string,
  out,
});
console.log(JSON.stringify({ ...r, out }));
