/**
 * The face-retrieval attack that measures privacy (FaceMAE, Wang, Zhao et al. 2022, Sec. 4.3):
 * every protected image is a probe searched against the gallery of all original images, embedded
 * by an attacker recognizer. Pure maths over Float32Array; no files, no printing.
 *
 * Identity-level ranking: the gallery is searched whole (the probe's own source image included,
 * "excluding nothing" — the attacker holds the originals), and identities are ranked by their
 * nearest gallery image (max cosine). An identity top-k hit means the probe's true identity is
 * among the k identities whose best match is closest.
 */
import type { Rng } from '../core/rng.js';
import { FaceMaeError } from '../core/errors.js';
import { buildAnnIndex, type AnnOptions } from './ann-index.js';

/** L2-normalises each row of x [n, d] in place (zero rows stay zero); returns x. */
export function l2NormalizeRows(x: Float32Array, n: number, d: number): Float32Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += (x[i * d + j] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) x[i * d + j] = (x[i * d + j] as number) * inv;
  }
  return x;
}

/**
 * Dot products of a probe block with all gallery rows, blocked over the gallery so that a gallery
 * tile stays in cache while every probe of the block visits it.
 * probes [nq, d] (rows q0..q1), gallery [ng, d] -> out [(q1-q0), ng].
 */
export function blockScores(
  probes: Float32Array,
  q0: number,
  q1: number,
  gallery: Float32Array,
  ng: number,
  d: number,
  out: Float32Array,
): void {
  const TILE = 128;
  for (let g0 = 0; g0 < ng; g0 += TILE) {
    const g1 = Math.min(ng, g0 + TILE);
    for (let q = q0; q < q1; q++) {
      const qo = q * d;
      const row = (q - q0) * ng;
      for (let g = g0; g < g1; g++) {
        const go = g * d;
        let s = 0;
        for (let j = 0; j < d; j++) s += (probes[qo + j] as number) * (gallery[go + j] as number);
        out[row + g] = s;
      }
    }
  }
}

export interface RetrievalInput {
  /** probes [nq, d], any scale (normalised here on a copy). */
  probes: Float32Array;
  /** gallery [ng, d], any scale. */
  gallery: Float32Array;
  dim: number;
  /** For each probe, the gallery index of its source (original) image. */
  probeSource: Int32Array;
  /** Identity label of each gallery image (dense, 0..numIdentities-1). */
  galleryLabels: Int32Array;
  /** ks for identity top-k (default [1, 5, 10]). */
  ks?: number[];
  /** 'exact', 'ann' (HNSW, usearch), or 'auto' (default: exact below `annThreshold` gallery images). */
  search?: 'exact' | 'ann' | 'auto';
  /** Gallery size from which 'auto' switches to the ANN index (default ANN_THRESHOLD). */
  annThreshold?: number;
  /** ANN settings, plus the candidates kept per probe (default 256). */
  ann?: AnnOptions & { candidates?: number };
}

export interface RetrievalMetrics {
  numProbes: number;
  numGallery: number;
  numIdentities: number;
  /** Fraction of probes whose nearest gallery image is their own source. */
  instanceTop1: number;
  /** Fraction of probes whose true identity is among the top-k identities (ranked by nearest image). */
  identityTopK: Record<string, number>;
  /** Mean cosine similarity between a probe and its source image. */
  meanCosineToSource: number;
  /** Mean rank (0 = first) of the source image among the gallery. */
  meanSourceRank: number;
  chance: { instanceTop1: number; identityTopK: Record<string, number> };
  search: 'exact' | 'ann';
}

/**
 * Gallery size from which 'auto' uses the ANN index: below it exact search of all probes takes
 * seconds (probes ≈ gallery, O(n²·d)); docs/SCALE.md has the measured rates.
 */
export const ANN_THRESHOLD = 50_000;

/** Runs the attack; exact blocked search by default, an HNSW index (usearch) for very large galleries. */
export function retrievalMetrics(input: RetrievalInput, chanceRng?: Rng): RetrievalMetrics {
  const { dim: d, probeSource, galleryLabels } = input;
  const nq = probeSource.length;
  const ng = galleryLabels.length;
  if (input.probes.length !== nq * d) {
    throw new FaceMaeError(
      `probe embeddings hold ${input.probes.length} values, expected ${nq}×${d}`,
      'E_SHAPE',
    );
  }
  if (input.gallery.length !== ng * d) {
    throw new FaceMaeError(
      `gallery embeddings hold ${input.gallery.length} values, expected ${ng}×${d}`,
      'E_SHAPE',
    );
  }
  if (nq === 0 || ng === 0)
    throw new FaceMaeError('retrieval needs at least one probe and one gallery image', 'E_EMPTY');
  for (let i = 0; i < nq; i++) {
    const s = probeSource[i] as number;
    if (s < 0 || s >= ng)
      throw new FaceMaeError(`probe ${i} names source ${s}, outside the gallery of ${ng}`, 'E_BAD_VALUE');
  }
  const ks = input.ks ?? [1, 5, 10];
  let numIdentities = 0;
  for (let i = 0; i < ng; i++) numIdentities = Math.max(numIdentities, (galleryLabels[i] as number) + 1);
  const probes = l2NormalizeRows(new Float32Array(input.probes), nq, d);
  const gallery = l2NormalizeRows(new Float32Array(input.gallery), ng, d);
  const mode = input.search ?? 'auto';
  if (mode !== 'exact' && mode !== 'ann' && mode !== 'auto')
    throw new FaceMaeError(`search must be exact, ann or auto, got "${String(mode)}"`, 'E_CONFIG');
  const useAnn = mode === 'ann' || (mode === 'auto' && ng >= (input.annThreshold ?? ANN_THRESHOLD));

  const hitsK = new Float64Array(ks.length);
  let inst = 0;
  let cosSum = 0;
  let rankSum = 0;
  const idBest = new Float32Array(numIdentities);

  // Shared per-probe bookkeeping over a list of (gallery index, score) candidates.
  const scoreProbe = (
    q: number,
    cand: Int32Array | null,
    scores: Float32Array,
    off: number,
    srcScore: number,
  ) => {
    const src = probeSource[q] as number;
    const trueId = galleryLabels[src] as number;
    idBest.fill(-Infinity);
    let better = 0;
    const count = cand ? cand.length : ng;
    for (let t = 0; t < count; t++) {
      const g = cand ? (cand[t] as number) : t;
      const s = scores[off + t] as number;
      if (g !== src && (s > srcScore || (s === srcScore && g < src))) better++;
      const id = galleryLabels[g] as number;
      if (s > (idBest[id] as number)) idBest[id] = s;
    }
    // The source is always a candidate of its own identity (exact path) or scored directly (ANN path).
    if (srcScore > (idBest[trueId] as number)) idBest[trueId] = srcScore;
    if (better === 0) inst++;
    rankSum += better;
    cosSum += srcScore;
    const tb = idBest[trueId] as number;
    let idRank = 0;
    for (let c = 0; c < numIdentities; c++) if (c !== trueId && (idBest[c] as number) > tb) idRank++;
    ks.forEach((k, i) => {
      if (idRank < k) hitsK[i] = (hitsK[i] as number) + 1;
    });
  };

  if (!useAnn) {
    const B = 32;
    const buf = new Float32Array(B * ng);
    for (let q0 = 0; q0 < nq; q0 += B) {
      const q1 = Math.min(nq, q0 + B);
      blockScores(probes, q0, q1, gallery, ng, d, buf);
      for (let q = q0; q < q1; q++) {
        const off = (q - q0) * ng;
        scoreProbe(q, null, buf, off, buf[off + (probeSource[q] as number)] as number);
      }
    }
  } else {
    const { candidates, ...annOpts } = input.ann ?? {};
    const kc = Math.min(ng, candidates ?? 256);
    const index = buildAnnIndex(gallery, ng, d, {
      ...annOpts,
      expansionSearch: Math.max(kc, annOpts.expansionSearch ?? 0),
    });
    const res = index.search(probes, nq, kc);
    for (let q = 0; q < nq; q++) {
      const src = probeSource[q] as number;
      let srcScore = 0;
      for (let j = 0; j < d; j++)
        srcScore += (probes[q * d + j] as number) * (gallery[src * d + j] as number);
      const cand = res.indices.subarray(q * kc, (q + 1) * kc);
      const valid = cand.indexOf(-1) === -1 ? cand : cand.subarray(0, cand.indexOf(-1));
      scoreProbe(q, valid, res.scores, q * kc, srcScore);
    }
  }

  const identityTopK: Record<string, number> = {};
  ks.forEach((k, i) => (identityTopK[`top${k}`] = (hitsK[i] as number) / nq));
  return {
    numProbes: nq,
    numGallery: ng,
    numIdentities,
    instanceTop1: inst / nq,
    identityTopK,
    meanCosineToSource: cosSum / nq,
    meanSourceRank: rankSum / nq,
    chance: retrievalChance(probeSource, galleryLabels, ks, chanceRng),
    search: useAnn ? 'ann' : 'exact',
  };
}

/**
 * Chance levels of the attack with embeddings carrying no identity information (random gallery
 * order). instanceTop1 = 1/ng exactly. Identity top-k under nearest-image ranking depends on how
 * many images each identity has, so it is estimated over random gallery orders (200, seeded);
 * without an rng the uniform approximation k / numIdentities is returned.
 */
export function retrievalChance(
  probeSource: Int32Array,
  galleryLabels: Int32Array,
  ks: number[],
  rng?: Rng,
  trials = 200,
): { instanceTop1: number; identityTopK: Record<string, number> } {
  const ng = galleryLabels.length;
  let nid = 0;
  for (const l of galleryLabels) nid = Math.max(nid, l + 1);
  const identityTopK: Record<string, number> = {};
  if (!rng) {
    for (const k of ks) identityTopK[`top${k}`] = Math.min(1, k / nid);
    return { instanceTop1: 1 / ng, identityTopK };
  }
  const probeIdCount = new Float64Array(nid);
  for (const s of probeSource) probeIdCount[galleryLabels[s] as number]! += 1;
  const order = Array.from({ length: ng }, (_, i) => i);
  const rankOf = new Int32Array(nid);
  const hits = new Float64Array(ks.length);
  for (let t = 0; t < trials; t++) {
    rng.shuffle(order);
    rankOf.fill(-1);
    let next = 0;
    for (const g of order) {
      const id = galleryLabels[g] as number;
      if (rankOf[id] === -1) rankOf[id] = next++;
    }
    ks.forEach((k, i) => {
      for (let id = 0; id < nid; id++) if ((rankOf[id] as number) < k) hits[i]! += probeIdCount[id] as number;
    });
  }
  ks.forEach((k, i) => (identityTopK[`top${k}`] = (hits[i] as number) / (trials * probeSource.length)));
  return { instanceTop1: 1 / ng, identityTopK };
}
