// Builds assets/sample/ from ../shared/data (run once; the output is committed).
// Deterministic: sorted listings and fixed strides, no randomness.
import fs from 'node:fs';
import path from 'node:path';

const shared = process.argv[2] ?? '../shared/data';
const out = process.argv[3] ?? 'assets/sample';
const copy = (src, dst) => {
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.copyFileSync(src, dst);
};
const byNum = (a, b) => parseInt(a) - parseInt(b);

// train/: 10 Glint360K identities x 24 images (the MAE / recognizer training set A).
const glint = path.join(shared, 'glint-24ids-112/images');
const trainIds = fs
  .readdirSync(glint)
  .sort()
  .filter((n) => fs.readdirSync(path.join(glint, n)).length >= 150)
  .slice(0, 10);
for (const id of trainIds) {
  const files = fs.readdirSync(path.join(glint, id)).sort(byNum);
  const step = Math.floor(files.length / 24);
  for (let i = 0; i < 24; i++)
    copy(path.join(glint, id, files[i * step]), path.join(out, 'train', id, `${i}.jpg`));
}

// verify/: LFW pairs, 10 folds x (10 same + 10 different), in pairs.txt format.
const lfw = path.join(shared, 'lfw-aligned-112');
const lines = fs.readFileSync(path.join(lfw, 'pairs.txt'), 'utf8').trim().split('\n').slice(1);
const img = (n, i) => `${n}/${n}_${String(i).padStart(4, '0')}.jpg`;
const kept = [];
const verifyIds = new Set();
for (let f = 0; f < 10; f++) {
  const fold = lines.slice(f * 600, (f + 1) * 600);
  kept.push(...fold.slice(0, 10), ...fold.slice(300, 310));
}
for (const l of kept) {
  const p = l.split('\t');
  const files = p.length === 3 ? [img(p[0], +p[1]), img(p[0], +p[2])] : [img(p[0], +p[1]), img(p[2], +p[3])];
  for (const f of files) {
    copy(path.join(lfw, 'images', f), path.join(out, 'verify/images', f));
    verifyIds.add(f.split('/')[0]);
  }
}
fs.writeFileSync(path.join(out, 'verify/pairs.txt'), `10\t10\n${kept.join('\n')}\n`);

// deploy/: unseen LFW identities (not in verify/, not Glint) with >= 4 images, 4 each (deployment set B).
const lfwIds = fs.readdirSync(path.join(lfw, 'images')).sort();
let n = 0;
for (const id of lfwIds) {
  if (verifyIds.has(id) || trainIds.includes(id)) continue;
  const files = fs.readdirSync(path.join(lfw, 'images', id)).sort();
  if (files.length < 4) continue;
  for (const f of files.slice(0, 4)) copy(path.join(lfw, 'images', id, f), path.join(out, 'deploy', id, f));
  if (++n === 24) break;
}

// raw/: unaligned 250x250 LFW photos for the alignment demo and tests.
const raw = path.join(shared, 'lfw-raw-sample/images');
for (const id of fs.readdirSync(raw).sort().slice(0, 8)) {
  const f = fs.readdirSync(path.join(raw, id)).sort()[0];
  copy(path.join(raw, id, f), path.join(out, 'raw', id, f));
}
console.log(`train ${trainIds.length} ids, verify ${kept.length} pairs, deploy ${n} ids`);
