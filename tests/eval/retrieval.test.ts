import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/rng.js';
import { retrievalChance, retrievalMetrics } from '../../src/eval/retrieval.js';
import { buildAnnIndex, exactTopK } from '../../src/eval/ann-index.js';

const f32 = (rows: number[][]) => new Float32Array(rows.flat());

describe('retrievalMetrics on hand-made embeddings', () => {
  // Gallery (2-d): identity 0 = images 0,1 near +x; identity 1 = image 2 near +y; identity 2 = image 3 near -x.
  const gallery = f32([
    [1, 0],
    [0.9, 0.1],
    [0, 1],
    [-1, 0],
  ]);
  const galleryLabels = new Int32Array([0, 0, 1, 2]);

  it('gives the known answers', () => {
    // probe 0 (source 0) lands on its source; probe 1 (source 1) lands on image 0 (same identity);
    // probe 2 (source 2) lands on identity 2 (wrong), and its identity comes second; probe 3 (source 3) is exact.
    const probes = f32([
      [2, 0],
      [1, -0.2],
      [-1, 0.3],
      [-3, 0],
    ]);
    const m = retrievalMetrics({
      probes,
      gallery,
      dim: 2,
      probeSource: new Int32Array([0, 1, 2, 3]),
      galleryLabels,
      ks: [1, 2],
    });
    expect(m.numProbes).toBe(4);
    expect(m.numIdentities).toBe(3);
    expect(m.instanceTop1).toBeCloseTo(2 / 4);
    expect(m.identityTopK.top1).toBeCloseTo(3 / 4);
    expect(m.identityTopK.top2).toBeCloseTo(4 / 4);
    const cos = (a: number[], b: number[]) =>
      (a[0]! * b[0]! + a[1]! * b[1]!) / Math.hypot(a[0]!, a[1]!) / Math.hypot(b[0]!, b[1]!);
    const expected = (1 + cos([1, -0.2], [0.9, 0.1]) + cos([-1, 0.3], [0, 1]) + 1) / 4;
    expect(m.meanCosineToSource).toBeCloseTo(expected, 5);
    // source ranks: probe 1 has image 0 ahead; probe 2 = (-1,0.3) scores img3 0.958 > img2 (its source) 0.287.
    expect(m.meanSourceRank).toBeCloseTo((0 + 1 + 1 + 0) / 4);
    expect(m.chance.instanceTop1).toBeCloseTo(1 / 4);
    expect(m.search).toBe('exact');
  });

  it('ties go against the attacker only for an earlier duplicate', () => {
    const g = f32([
      [1, 0],
      [1, 0],
    ]);
    const m = retrievalMetrics({
      probes: f32([
        [1, 0],
        [1, 0],
      ]),
      gallery: g,
      dim: 2,
      probeSource: new Int32Array([0, 1]),
      galleryLabels: new Int32Array([0, 1]),
      ks: [1],
    });
    expect(m.instanceTop1).toBeCloseTo(0.5);
  });

  it('refuses mismatched shapes and out-of-range sources, naming them', () => {
    expect(() =>
      retrievalMetrics({
        probes: new Float32Array(3),
        gallery,
        dim: 2,
        probeSource: new Int32Array([0]),
        galleryLabels,
      }),
    ).toThrow(/probe embeddings hold 3 values, expected 1×2/);
    expect(() =>
      retrievalMetrics({
        probes: new Float32Array(2),
        gallery,
        dim: 2,
        probeSource: new Int32Array([7]),
        galleryLabels,
      }),
    ).toThrow(/probe 0 names source 7, outside the gallery of 4/);
  });

  it('random embeddings score near the estimated chance level', () => {
    const rng = createRng(3);
    const ng = 600;
    const d = 16;
    const labels = new Int32Array(ng).map((_, i) => i % 30);
    const g = new Float32Array(ng * d).map(() => rng.normal());
    const p = new Float32Array(ng * d).map(() => rng.normal());
    const src = new Int32Array(ng).map((_, i) => i);
    const m = retrievalMetrics(
      { probes: p, gallery: g, dim: d, probeSource: src, galleryLabels: labels },
      createRng(4),
    );
    expect(m.chance.identityTopK.top1).toBeCloseTo(1 / 30, 2);
    expect(m.chance.identityTopK.top10).toBeCloseTo(10 / 30, 1);
    expect(Math.abs(m.identityTopK.top10! - m.chance.identityTopK.top10!)).toBeLessThan(0.08);
    expect(m.instanceTop1).toBeLessThan(0.02);
  });

  it('chance favours identities with many images under nearest-image ranking', () => {
    // identity 0 has 9 images, identity 1 has 1: a random order puts identity 0 first 90% of the time.
    const labels = new Int32Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const c = retrievalChance(new Int32Array([0, 9]), labels, [1], createRng(1), 2000);
    expect(c.identityTopK.top1).toBeCloseTo((0.9 + 0.1) / 2, 1);
  });
});

describe('ANN index (usearch HNSW)', () => {
  it('reaches high recall@10 against exact search on clustered data, and the ANN path agrees with exact metrics', () => {
    const rng = createRng(11);
    const d = 32;
    const n = 3000;
    const centres = Array.from({ length: 40 }, () => Array.from({ length: d }, () => rng.normal()));
    const x = new Float32Array(n * d);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = rng.int(40);
      labels[i] = c;
      for (let j = 0; j < d; j++) x[i * d + j] = centres[c]![j]! + 0.5 * rng.normal();
    }
    const norm = (v: Float32Array, rows: number) => {
      for (let i = 0; i < rows; i++) {
        const r = v.subarray(i * d, (i + 1) * d);
        const s = Math.hypot(...r);
        for (let j = 0; j < d; j++) r[j] = r[j]! / s;
      }
      return v;
    };
    norm(x, n);
    const nq = 100;
    const q = new Float32Array(nq * d);
    const src = new Int32Array(nq);
    for (let i = 0; i < nq; i++) {
      src[i] = rng.int(n);
      for (let j = 0; j < d; j++) q[i * d + j] = x[src[i]! * d + j]! + 0.05 * rng.normal();
    }
    norm(q, nq);
    const index = buildAnnIndex(x, n, d, { expansionSearch: 64 });
    const approx = index.search(q, nq, 10);
    const exact = exactTopK(q, nq, x, n, d, 10);
    let hit = 0;
    for (let i = 0; i < nq; i++) {
      const e = new Set(exact.indices.subarray(i * 10, i * 10 + 10));
      for (const a of approx.indices.subarray(i * 10, i * 10 + 10)) if (e.has(a)) hit++;
    }
    const recall = hit / (nq * 10);
    expect(recall).toBeGreaterThan(0.9);
    const input = { probes: q, gallery: x, dim: d, probeSource: src, galleryLabels: labels };
    const mE = retrievalMetrics({ ...input, search: 'exact' });
    const mI = retrievalMetrics({ ...input, search: 'ann' });
    expect(mI.search).toBe('ann');
    expect(Math.abs(mI.instanceTop1 - mE.instanceTop1)).toBeLessThan(0.05);
    expect(Math.abs(mI.identityTopK.top1! - mE.identityTopK.top1!)).toBeLessThan(0.05);
    expect(mI.meanCosineToSource).toBeCloseTo(mE.meanCosineToSource, 5);
  });
});
