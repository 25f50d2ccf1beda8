/** The attack module's pure parts: restorations, the ridge map, suite names, protections, pooling, the cache. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { poolByLabel, wilson95, worstOf } from '../../src/attack/attack.js';
import { createEmbeddingCache } from '../../src/attack/embed.js';
import { parseProtection, readProtection } from '../../src/attack/protection.js';
import { medianFilter, reversalCandidates, reversalName, unsharpMask } from '../../src/attack/reversal.js';
import { applyResidualMap, fitResidualRidge } from '../../src/attack/ridge.js';
import { parseAttackerSuite, resolveAttackerModels } from '../../src/attack/suite.js';
import { createRng } from '../../src/core/rng.js';
import { fillPatches, gaussianBlur } from '../../src/protect/distortions.js';
import { removedPatches } from '../../src/attack/inpaint.js';
import type { RetrievalMetrics } from '../../src/eval/retrieval.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-attack-'));
const flat = (w: number, h: number, v: number) => ({
  data: new Uint8Array(w * h * 3).fill(v),
  width: w,
  height: h,
});

describe('restorations', () => {
  it('the median removes isolated salt noise that a mean would smear', () => {
    const img = flat(9, 9, 100);
    img.data[(4 * 9 + 4) * 3] = 255; // one bright red value
    const m = medianFilter(img, 1);
    expect(Array.from(m.data).every((v) => v === 100)).toBe(true);
    expect(medianFilter(flat(5, 5, 7), 2).data.every((v) => v === 7)).toBe(true);
    expect(() => medianFilter(img, 0)).toThrow(/median radius/);
  });

  it('an unsharp mask at the known sigma steepens a blurred edge again', () => {
    const w = 32;
    const img = { data: new Uint8Array(w * w * 3), width: w, height: w };
    for (let y = 0; y < w; y++)
      for (let x = 0; x < w; x++) img.data.fill(x < 16 ? 40 : 200, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const blurred = gaussianBlur(img, 2);
    // the jump across the edge in the middle row: 160 in the original
    const jump = (a: Uint8Array) => a[(16 * w + 16) * 3]! - a[(16 * w + 15) * 3]!;
    expect(jump(blurred.data)).toBeLessThan(40);
    expect(jump(unsharpMask(blurred, 2, 2).data)).toBeGreaterThan(1.5 * jump(blurred.data));
    expect(Array.from(unsharpMask(blurred, 2, 0).data)).toEqual(Array.from(blurred.data));
    // a flat image has no detail to sharpen
    expect(unsharpMask(flat(8, 8, 90), 2, 2).data.every((v) => v === 90)).toBe(true);
  });

  it('every family keeps "none" first (the frozen attacker is always a candidate), names are stable', () => {
    for (const m of ['noise', 'blur', 'pixelate', 'mask', 'facemae', 'original'] as const) {
      const c = reversalCandidates(m, 8);
      expect(reversalName(c[0]!)).toBe('none');
      expect(new Set(c.map(reversalName)).size).toBe(c.length);
    }
    expect(reversalCandidates('blur', 4).map(reversalName)).toContain('unsharp:4:1');
    expect(reversalCandidates('pixelate', 16).map(reversalName)).toContain('gauss:6.4');
  });
});

describe('finding the removed patches of a masked face', () => {
  it('flags the flat fill-valued patches, also after JPEG-like jitter, and nothing of a textured face', () => {
    const rng = createRng(7);
    const img = {
      data: Uint8Array.from({ length: 32 * 32 * 3 }, () => Math.floor(rng.next() * 256)),
      width: 32,
      height: 32,
    };
    expect(Array.from(removedPatches(img, 16, 128))).toEqual([0, 0, 0, 0]);
    const masked = fillPatches(img, [0, 1, 0, 1], 16, 128);
    for (let i = 0; i < masked.data.length; i += 97) masked.data[i] = 128 + ((i % 7) - 3); // small artefacts
    expect(Array.from(removedPatches(masked, 16, 128))).toEqual([0, 1, 0, 1]);
  });
});

describe('the adaptation map', () => {
  it('recovers a known residual map, and a large penalty gives back the identity', () => {
    const rng = createRng(3);
    const n = 400;
    const d = 6;
    const Btrue = Float64Array.from({ length: d * d }, () => rng.normal() * 0.3);
    const x = Float32Array.from({ length: n * d }, () => rng.normal());
    const y = applyResidualMap({ dim: d, B: Btrue, alpha: 0 }, x, n);
    const fit = fitResidualRidge(x, y, n, d, 1e-6);
    for (let i = 0; i < d * d; i++) expect(fit.B[i]).toBeCloseTo(Btrue[i]!, 4);
    const stiff = fitResidualRidge(x, y, n, d, 1e9);
    const out = applyResidualMap(stiff, x, n);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(x[i]!, 3);
    expect(() => fitResidualRidge(x, y, n, d, 0)).toThrow(/alpha/);
  });
});

describe('suite names', () => {
  it('expands suite, suite:MODEL and MODEL+KIND, refusing unknown kinds and duplicates', () => {
    expect(parseAttackerSuite('suite').map((a) => a.name)).toEqual([
      'mobileface',
      'mobileface+reversal',
      'mobileface+adaptation',
      'mobileface+pooling',
    ]);
    expect(parseAttackerSuite(['faceres,mobileface+parrot']).map((a) => [a.model, a.kind])).toEqual([
      ['faceres', 'frozen'],
      ['mobileface', 'parrot'],
    ]);
    expect(() => parseAttackerSuite('mobileface+guess')).toThrow(/unknown attack "guess"/);
    expect(() => parseAttackerSuite('suite,mobileface')).toThrow(/named twice/);
    expect(() => parseAttackerSuite(' , ')).toThrow(/at least one/);
    expect(
      resolveAttackerModels(['suite:runs/a', 'runs/b+parrot', 'x,mobileface'], (m) => `/abs/${m}`),
    ).toEqual(['suite:/abs/runs/a', '/abs/runs/b+parrot', '/abs/x', '/abs/mobileface']);
  });
});

describe('protections', () => {
  it('parses METHOD:STRENGTH and reads what distort and reconstruct recorded', () => {
    expect(parseProtection('noise:80')).toEqual({ method: 'noise', strength: 80 });
    expect(parseProtection('facemae:0.75', 'x', 'runs/m')).toEqual({
      method: 'facemae',
      strength: 0.75,
      model: 'runs/m',
    });
    expect(() => parseProtection('blurry:3')).toThrow(/METHOD:STRENGTH/);
    expect(() => parseProtection('facemae:1.5')).toThrow(/mask ratio/);
    expect(parseProtection('facemae:0.75:0', 'x', 'runs/m')).toEqual({
      method: 'facemae',
      strength: 0.75,
      model: 'runs/m',
      pasteBack: 0,
    });
    expect(() => parseProtection('facemae:0.75:2')).toThrow(/pasteBack must be a number in \[0, 1\]/);
    expect(() => parseProtection('noise:80:0')).toThrow(/facemae:RATIO:PASTEBACK/);
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'd'));
    fs.writeFileSync(
      path.join(dir, 'd', 'config.json'),
      JSON.stringify({ command: 'distort', config: { method: 'pixelate', strength: 16 } }),
    );
    expect(readProtection(path.join(dir, 'd'))).toEqual({ method: 'pixelate', strength: 16 });
    fs.mkdirSync(path.join(dir, 'r', 'images'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'r', 'config.json'),
      JSON.stringify({ command: 'reconstruct', config: { maskRatio: 0.6, model: '/m' } }),
    );
    expect(readProtection(path.join(dir, 'r', 'images'))).toEqual({
      method: 'facemae',
      strength: 0.6,
      model: '/m',
    });
    expect(readProtection(path.join(dir, 'nothing'))).toBeUndefined();
  });
});

describe('pooling and the worst case', () => {
  it('averages unit embeddings per label and keeps each label first source', () => {
    const probes = Float32Array.from([3, 0, 0, 5, 1, 0]);
    const r = poolByLabel(probes, 2, ['a', 'a', 'b'], Int32Array.from([4, 5, 6]));
    expect(Array.from(r.probes)).toEqual([1, 1, 1, 0]);
    expect(Array.from(r.probeSource)).toEqual([4, 6]);
  });

  it('takes the highest identity top-1 with a Wilson interval that holds it', () => {
    const m = (top1: number, n: number) =>
      ({ identityTopK: { top1 }, instanceTop1: top1, numProbes: n }) as unknown as RetrievalMetrics;
    const w = worstOf({ a: m(0.2, 100), b: m(0.6, 50) });
    expect(w.attacker).toBe('b');
    expect(w.ci95[0]).toBeLessThan(0.6);
    expect(w.ci95[1]).toBeGreaterThan(0.6);
    const [lo, hi] = wilson95(1, 96);
    expect(hi).toBe(1);
    expect(lo).toBeCloseTo(0.9615, 3);
  });
});

describe('the embedding cache', () => {
  it('persists by attacker and content, and ignores a torn last record', () => {
    const dir = tmp();
    const c = createEmbeddingCache(dir);
    c.set('fp', 2, 'aa'.repeat(20), Float32Array.from([1, 2]));
    c.set('fp', 2, 'bb'.repeat(20), Float32Array.from([3, 4]));
    c.flush();
    const [file] = fs.readdirSync(dir);
    fs.appendFileSync(path.join(dir, file!), Buffer.from([1, 2, 3])); // a kill mid-write
    const again = createEmbeddingCache(dir);
    expect(Array.from(again.get('fp', 2, 'bb'.repeat(20))!)).toEqual([3, 4]);
    expect(again.get('other', 2, 'bb'.repeat(20))).toBeUndefined();
    expect(again.stats).toEqual({ hits: 1, misses: 1 });
  });
});
