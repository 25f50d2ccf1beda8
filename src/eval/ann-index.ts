/**
 * Approximate nearest neighbours for cosine search over L2-normalised rows, for galleries too
 * large for exact search: an HNSW graph from usearch (a kept native library with prebuilt
 * binaries in its npm package). Chosen over hnswlib-node (compiles with node-gyp at install,
 * one query per call) and faiss-node (its install downloads binaries from GitHub): docs/SCALE.md
 * has the measured recall@10 and queries/s. Built on one thread by default so the graph, and so
 * the audit's numbers, are the same on every run.
 */
import { Index, MetricKind, ScalarKind, type BatchMatches, type Matches } from 'usearch';
import { FaceMaeError } from '../core/errors.js';

export interface AnnOptions {
  /** Graph degree M (default 16). */
  connectivity?: number;
  /** Candidates kept while inserting (default 128). */
  expansionAdd?: number;
  /** Candidates kept while searching: recall against speed (default 128). */
  expansionSearch?: number;
  /** Threads for building (default 1: reproducible graph) and searching (default 1). */
  threads?: number;
}

export interface AnnIndex {
  readonly size: number;
  /** queries [nq, d] (normalised) -> top-k gallery indices [nq, k] (-1 pads) and cosine scores [nq, k], best first. */
  search(queries: Float32Array, nq: number, k: number): { indices: Int32Array; scores: Float32Array };
}

/** Builds the index over gallery [n, d] (rows L2-normalised by the caller). */
export function buildAnnIndex(gallery: Float32Array, n: number, d: number, opts: AnnOptions = {}): AnnIndex {
  if (gallery.length !== n * d)
    throw new FaceMaeError(`ANN gallery holds ${gallery.length} values, expected ${n}×${d}`, 'E_SHAPE');
  if (n < 1) throw new FaceMaeError('ANN index needs at least one gallery vector', 'E_EMPTY');
  const threads = opts.threads ?? 1;
  const index = new Index({
    dimensions: d,
    metric: MetricKind.IP,
    quantization: ScalarKind.F32,
    connectivity: opts.connectivity ?? 16,
    expansion_add: opts.expansionAdd ?? 128,
    expansion_search: opts.expansionSearch ?? 128,
    multi: false,
  });
  const keys = new BigUint64Array(n);
  for (let i = 0; i < n; i++) keys[i] = BigInt(i);
  index.add(keys, gallery, threads);
  return {
    size: n,
    search(queries, nq, k) {
      if (queries.length !== nq * d)
        throw new FaceMaeError(`ANN queries hold ${queries.length} values, expected ${nq}×${d}`, 'E_SHAPE');
      const indices = new Int32Array(nq * k).fill(-1);
      const scores = new Float32Array(nq * k).fill(-Infinity);
      if (nq === 0) return { indices, scores };
      // usearch reads one row as a Vector (Matches) and several as a Matrix (BatchMatches, k per row)
      const r = index.search(queries, k, threads) as Matches | BatchMatches;
      for (let q = 0; q < nq; q++) {
        const c = Math.min(k, 'counts' in r ? Number(r.counts[q]) : r.keys.length);
        for (let t = 0; t < c; t++) {
          indices[q * k + t] = Number(r.keys[q * k + t]);
          // usearch's inner-product distance is 1 - dot
          scores[q * k + t] = 1 - (r.distances[q * k + t] as number);
        }
      }
      return { indices, scores };
    },
  };
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (a[ao + j] as number) * (b[bo + j] as number);
  return s;
}

/** Exact top-k by brute force, for tests and recall checks: same output layout as AnnIndex.search. */
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
