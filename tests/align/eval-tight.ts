/**
 * Tight-crop check (a script, not a vitest file): re-aligns the committed insightface crops of
 * assets/sample/deploy (96 photos that are already 112×112 faces) and compares each result with
 * the original under the faceplugin recognizer.
 *   npx tsx tests/align/eval-tight.ts [--detector faceplugin|scrfd:FILE.onnx] [--data DIR]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { alignPhoto, createFaceDetector } from '../../src/align/index.js';
import { decodePhoto } from '../../src/align/image-io.js';
import { cosine, createFaceRecognizerForCheck } from './fr-check.js';

const { values } = parseArgs({
  options: {
    detector: { type: 'string', default: 'faceplugin' },
    data: { type: 'string', default: path.resolve(import.meta.dirname, '../../assets/sample/deploy') },
  },
});
const root = values.data as string;
const det = await createFaceDetector(values.detector as string);
const fr = await createFaceRecognizerForCheck();
const cos: number[] = [];
let found = 0;
let padded = 0;
for (const id of fs.readdirSync(root).sort()) {
  for (const f of fs.readdirSync(path.join(root, id)).sort()) {
    const img = await decodePhoto(path.join(root, id, f));
    const r = await alignPhoto(det, img);
    if (!r) {
      cos.push(0);
      continue;
    }
    found++;
    if (r.padded) padded++;
    cos.push(cosine(await fr.embed(img.data), await fr.embed(r.image.data)));
  }
}
await det.dispose();
await fr.dispose();
cos.sort((a, b) => a - b);
const q = (p: number) => cos[Math.round(p * (cos.length - 1))] as number;
console.log(
  JSON.stringify({
    detector: values.detector,
    images: cos.length,
    found,
    padded,
    cosine: { median: q(0.5), p05: q(0.05), min: cos[0] },
  }),
);
