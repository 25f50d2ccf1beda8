/**
 * ANN libraries for the privacy audit at scale: recall@10 against exact search and queries/s,
 * on real face embeddings (faceplugin, the default attacker) of identity folders, each image
 * also flipped and centre-cropped (3 vectors per image). Embeddings are cached in `--cache`.
 *
 *   nice -n 19 npx tsx bench/ann.ts --data ../shared/data/celeba-966-112 ../shared/data/glint-24ids-112 \
 *     --max-images 34000 --cache /tmp/ann-emb --queries 1000
 *
 * usearch is a dependency; hnswlib-node is measured when installed (`npm i --no-save hnswlib-node`,
 * it compiles with node-gyp). faiss-node does not install here: its install downloads a prebuilt
 * binary from GitHub, then falls back to cloning faiss.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createRng } from '../src/core/rng.js';
import { listImageFolder, readImage, flipHorizontal, resizeImage } from '../src/data/image-folder.js';
import { createEmbedder } from '../src/loaders/embedders.js';
import { buildAnnIndex, exactTopK } from '../src/eval/ann-index.js';
import type { RgbImage } from '../src/types.js';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string', multiple: true },
    'max-images': { type: 'string', default: '2000' },
    cache: { type: 'string', default: path.join(os.tmpdir(), 'facemae-ann-emb') },
    queries: { type: 'string', default: '1000' },
    k: { type: 'string', default: '10' },
  },
});
const roots = [...(a.data ?? []), ...positionals];
const maxImages = Number(a['max-images']);
const nq = Number(a.queries);
const K = Number(a.k);

function centreCrop(img: RgbImage, frac: number): RgbImage {
  const w = Math.round(img.width * frac);
  const h = Math.round(img.height * frac);
  const x0 = Math.floor((img.width - w) / 2);
  const y0 = Math.floor((img.height - h) / 2);
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    data.set(
      img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + w) * 3),
      y * w * 3,
    );
  return { width: w, height: h, data };
}

async function embeddings(): Promise<{ x: Float32Array; n: number; d: number; seconds: number }> {
  const meta = `${a.cache}.json`;
  if (fs.existsSync(meta)) {
    const m = JSON.parse(fs.readFileSync(meta, 'utf8')) as { n: number; d: number; seconds: number };
    const b = fs.readFileSync(`${a.cache}.f32`);
    return { x: new Float32Array(b.buffer, b.byteOffset, m.n * m.d), ...m };
  }
  const files: string[] = [];
  for (const r of roots) files.push(...(await listImageFolder(r)).records.map((x) => x.path));
  const pick = files.slice(0, maxImages);
  const emb = await createEmbedder('faceplugin');
  const s = emb.inputSize;
  const d = emb.embeddingDim;
  const B = 32;
  const out = new Float32Array(pick.length * 3 * d);
  const t0 = performance.now();
  for (let i = 0; i < pick.length; i += B) {
    const part = pick.slice(i, i + B);
    const imgs: RgbImage[] = [];
    for (const f of part) {
      const img = await readImage(f, { size: s });
      imgs.push(img, flipHorizontal(img), await resizeImage(centreCrop(img, 0.9), s, s));
    }
    const buf = new Uint8Array(imgs.length * s * s * 3);
    imgs.forEach((m, j) => buf.set(m.data, j * s * s * 3));
    out.set(await emb.embed(buf, imgs.length), i * 3 * d);
    if ((i / B) % 20 === 0) process.stderr.write(`embedded ${i + part.length}/${pick.length} images\n`);
  }
  const seconds = (performance.now() - t0) / 1000;
  emb.dispose();
  const n = pick.length * 3;
  fs.writeFileSync(`${a.cache}.f32`, new Uint8Array(out.buffer));
  fs.writeFileSync(meta, JSON.stringify({ n, d, seconds, roots, images: pick.length }));
  return { x: out, n, d, seconds };
}

function normalise(x: Float32Array, n: number, d: number): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! ** 2;
    const inv = 1 / Math.sqrt(s || 1);
    for (let j = 0; j < d; j++) x[i * d + j]! *= inv;
  }
}

function recall(truth: Int32Array, got: Int32Array, q: number, k: number): number {
  let hit = 0;
  for (let i = 0; i < q; i++) {
    const t = new Set(truth.subarray(i * k, (i + 1) * k));
    for (let j = 0; j < k; j++) if (t.has(got[i * k + j]!)) hit++;
  }
  return hit / (q * k);
}

const { x, n, d, seconds } = await embeddings();
normalise(x, n, d);
// Queries: a seeded sample of the vectors, taken out of the gallery.
const rng = createRng(0);
const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
const qIdx = order.slice(0, nq);
const gIdx = order.slice(nq);
const ng = gIdx.length;
const Q = new Float32Array(nq * d);
qIdx.forEach((r, i) => Q.set(x.subarray(r * d, (r + 1) * d), i * d));
const G = new Float32Array(ng * d);
gIdx.forEach((r, i) => G.set(x.subarray(r * d, (r + 1) * d), i * d));
console.log(
  `${n} embeddings (d=${d}; embedding took ${seconds.toFixed(0)} s), gallery ${ng}, ${nq} queries, k=${K}, ${os.cpus()[0]?.model}`,
);

let t = performance.now();
const exact = exactTopK(Q, nq, G, ng, d, K);
const exactSec = (performance.now() - t) / 1000;
console.log(`exact (exactTopK: JS dot products + full sort per query): ${(nq / exactSec).toFixed(1)} q/s`);

for (const [M, ef] of [
  [16, 64],
  [16, 128],
  [16, 256],
  [32, 128],
] as const) {
  t = performance.now();
  const idx = buildAnnIndex(G, ng, d, { connectivity: M, expansionSearch: ef });
  const build = (performance.now() - t) / 1000;
  t = performance.now();
  const r = idx.search(Q, nq, K);
  const s = (performance.now() - t) / 1000;
  console.log(
    `usearch M=${M} ef=${ef}: build ${build.toFixed(1)} s (1 thread), recall@${K} ${recall(exact.indices, r.indices, nq, K).toFixed(4)}, ${(nq / s).toFixed(0)} q/s (1 thread)`,
  );
}

try {
  // Optional and untyped here: not a dependency of the project.
  interface Hnsw {
    initIndex(n: number, m: number, efc: number, seed: number): void;
    addPoint(v: number[], label: number): void;
    setEf(ef: number): void;
    searchKnn(v: number[], k: number): { neighbors: number[]; distances: number[] };
  }
  const mod = 'hnswlib-node';
  type HnswModule = { HierarchicalNSW: new (space: string, d: number) => Hnsw };
  const m = (await import(mod)) as HnswModule & { default?: HnswModule };
  const HierarchicalNSW = m.HierarchicalNSW ?? m.default!.HierarchicalNSW; // CommonJS through ESM
  for (const M of [16]) {
    t = performance.now();
    const h = new HierarchicalNSW('ip', d);
    h.initIndex(ng, M, 128, 0);
    for (let i = 0; i < ng; i++) h.addPoint(Array.from(G.subarray(i * d, (i + 1) * d)), i);
    const build = (performance.now() - t) / 1000;
    for (const ef of [64, 128, 256]) {
      h.setEf(Math.max(ef, K));
      const got = new Int32Array(nq * K);
      t = performance.now();
      for (let q = 0; q < nq; q++) {
        const r = h.searchKnn(Array.from(Q.subarray(q * d, (q + 1) * d)), K);
        // hnswlib returns farthest first
        const o = r.neighbors.map((nb, j) => [nb, r.distances[j]!] as const).sort((p, q2) => p[1] - q2[1]);
        o.forEach(([nb], j) => (got[q * K + j] = nb));
      }
      const s = (performance.now() - t) / 1000;
      console.log(
        `hnswlib-node M=${M} ef=${ef}: build ${build.toFixed(1)} s, recall@${K} ${recall(exact.indices, got, nq, K).toFixed(4)}, ${(nq / s).toFixed(0)} q/s`,
      );
    }
  }
} catch (e) {
  console.log(`hnswlib-node: not measured (${(e as Error).message.split('\n')[0]})`);
}
