/**
 * Measures `facemae align` against insightface's own LFW crops (not a vitest file; run with tsx):
 *   npx tsx tests/align/eval-lfw.ts [--detector faceplugin|scrfd:FILE] [--data DIR] [--ref DIR] [--out DIR]
 * Aligns every photo of the raw LFW sample, then embeds our crop and the insightface crop of the
 * same file with the faceplugin recognizer (BGR, (x − 127)/128) and reports detection rate and
 * cosine similarity (median, mean, 5th percentile).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { alignFolder, DEFAULT_ALIGN_CONFIG } from '../../src/align/index.js';
import { decodePhoto } from '../../src/align/image-io.js';
import { createFaceRecognizerForCheck } from './fr-check.js';

const root = path.resolve(import.meta.dirname, '../..');
const shared = path.resolve(root, '../shared');
const { values } = parseArgs({
  options: {
    detector: { type: 'string', default: 'faceplugin' },
    data: { type: 'string', default: path.join(shared, 'data/lfw-raw-sample/images') },
    ref: { type: 'string', default: path.join(shared, 'data/lfw-aligned-112/images') },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const detector = values.detector as string;
const out = values.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'align-eval-'));
const { report, noFace } = await alignFolder({ ...DEFAULT_ALIGN_CONFIG, data: values.data as string, out, detector }, { resume: true });
const fr = await createFaceRecognizerForCheck();
const cos: number[] = [];
let missingRef = 0;
for (const name of fs.readdirSync(out, { recursive: true }) as string[]) {
  if (!name.endsWith('.jpg')) continue;
  const refFile = path.join(values.ref as string, name);
  if (!fs.existsSync(refFile)) {
    missingRef++;
    continue;
  }
  const [a, b] = [await decodePhoto(path.join(out, name)), await decodePhoto(refFile)];
  const ea = await fr.embed(a.data);
  const eb = await fr.embed(b.data);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < ea.length; i++) {
    dot += (ea[i] as number) * (eb[i] as number);
    na += (ea[i] as number) ** 2;
    nb += (eb[i] as number) ** 2;
  }
  cos.push(dot / Math.sqrt(na * nb));
}
await fr.dispose();
cos.sort((x, y) => x - y);
const q = (p: number) => cos[Math.min(cos.length - 1, Math.floor(p * (cos.length - 1)))] ?? NaN;
const summary = {
  detector,
  images: report.total,
  faces: report.aligned + report.kept,
  padded: report.padded,
  detectionRate: report.detectionRate,
  noFace: noFace.map((e) => e.path),
  compared: cos.length,
  missingRef,
  cosine: { median: q(0.5), mean: cos.reduce((s, v) => s + v, 0) / cos.length, p05: q(0.05), min: cos[0] },
  seconds: report.seconds,
  out,
};
console.log(JSON.stringify(summary, null, values.json ? 2 : 0));
