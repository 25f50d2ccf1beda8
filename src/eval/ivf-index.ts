/**
 * A small inverted-file (IVF) index for cosine search over L2-normalised rows, for galleries too
 * large for exact search: a spherical k-means coarse quantizer (seeded Rng) assigns every vector
 * to one of `nlist` lists; a query scans only its `nprobe` nearest lists. Written in TS instead of
 * a native package (faiss) to keep the install plain; recall against exact search is tested.
 */
import type { Rng } from '../core/rng.js';
import { FaceMaeError } from '../core/errors.js';

export interface IvfIndex {
  readonly nlist: number;
  /** queries [nq, d] (normalised) -> top-k gallery indices [nq, k] (-1 pads) and scores [nq, k], best first. */
  search(
    queries: Float32Array,
    nq: number,
    k: number,
    nprobe: number,
  ): { indices: Int32Array; scores: Float32Array };
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (a[ao + j] as number) * (b[bo + j] as number);
  return s;
}

/** Spherical k-means: centroids [nlist, d] (unit rows) and the assignment of every vector. */
export function sphericalKMeans(
  x: Float32Array,
  n: number,
  d: number,
  nlist: number,
  rng: Rng,
  iters = 10,
): { centroids: Float32Array; assign: Int32Array } {
  const k = Math.min(nlist, n);
  const pick = rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, k);
  const c = new Float32Array(k * d);
  pick.forEach((p, i) => c.set(x.subarray(p * d, (p + 1) * d), i * d));
  const assign = new Int32Array(n);
  for (let it = 0; it < iters; it++) {
    for (let i = 0; i < n; i++) {
      let best = -Infinity;
      let bi = 0;
      for (let j = 0; j < k; j++) {
        const s = dot(x, i * d, c, j * d, d);
        if (s > best) {
          best = s;
          bi = j;
        }
      }
      assign[i] = bi;
    }
    const sum = new Float32Array(k * d);
    const cnt = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const a = assign[i] as number;
      cnt[a]! += 1;
      for (let j = 0; j < d; j++) sum[a * d + j]! += x[i * d + j] as number;
    }
    for (let j = 0; j < k; j++) {
      // An empty list is re-seeded on a random vector so every list stays in use.
      if (cnt[j] === 0) {
        const r = rng.int(n);
        sum.set(x.subarray(r * d, (r + 1) * d), j * d);
      }
      let s = 0;
      for (let t = 0; t < d; t++) s += (sum[j * d + t] as number) ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let t = 0; t < d; t++) c[j * d + t] = (sum[j * d + t] as number) * inv;
    }
  }
  return { centroids: c, assign };
}

/** Builds the index over gallery [n, d] (rows L2-normalised by the caller). */
export function buildIvfIndex(
  gallery: Float32Array,
  n: number,
  d: number,
  opts: { nlist: number; rng: Rng; iters?: number },
): IvfIndex {
  if (!(opts.nlist >= 1)) throw new FaceMaeError(`IVF nlist must be >= 1, got ${opts.nlist}`, 'E_BAD_VALUE');
  const { centroids, assign } = sphericalKMeans(gallery, n, d, opts.nlist, opts.rng, opts.iters ?? 10);
  const nlist = centroids.length / d;
  const lists: number[][] = Array.from({ length: nlist }, () => []);
  for (let i = 0; i < n; i++) lists[assign[i] as number]!.push(i);
  return {
    nlist,
    search(queries, nq, k, nprobe) {
      const indices = new Int32Array(nq * k).fill(-1);
      const scores = new Float32Array(nq * k).fill(-Infinity);
      const cs = new Float32Array(nlist);
      const order = Array.from({ length: nlist }, (_, i) => i);
      for (let q = 0; q < nq; q++) {
        for (let j = 0; j < nlist; j++) cs[j] = dot(queries, q * d, centroids, j * d, d);
        order.sort((a, b) => (cs[b] as number) - (cs[a] as number));
        // Insertion into a sorted top-k buffer: k is small compared with the scanned lists.
        const ti = indices.subarray(q * k, (q + 1) * k);
        const ts = scores.subarray(q * k, (q + 1) * k);
        for (let p = 0; p < Math.min(nprobe, nlist); p++) {
          for (const g of lists[order[p] as number]!) {
            const s = dot(queries, q * d, gallery, g * d, d);
            if (s <= (ts[k - 1] as number)) continue;
            let pos = k - 1;
            while (pos > 0 && (ts[pos - 1] as number) < s) {
              ts[pos] = ts[pos - 1] as number;
              ti[pos] = ti[pos - 1] as number;
              pos--;
            }
            ts[pos] = s;
            ti[pos] = g;
          }
        }
      }
      return { indices, scores };
    },
  };
}

/** Exact top-k by brute force, for tests and recall checks: same output layout as IvfIndex.search. */
export function exactTopK(
  queries: Float32Array,
  nq: number,
  gallery: Float32Array,
  n: number,
  d: number,
  k: number,
): { indices: Int32Array; scores: Float32Array } {
  const indices = new Int32Array(nq * k);
  const scores = new Float32Array(nq * k);
  const all = new Float32Array(n);
  const ord = Array.from({ length: n }, (_, i) => i);
  for (let q = 0; q < nq; q++) {
    for (let g = 0; g < n; g++) all[g] = dot(queries, q * d, gallery, g * d, d);
    ord.sort((a, b) => (all[b] as number) - (all[a] as number) || a - b);
    for (let t = 0; t < k; t++) {
      indices[q * k + t] = ord[t] as number;
      scores[q * k + t] = all[ord[t] as number] as number;
    }
  }
  return { indices, scores };
}
