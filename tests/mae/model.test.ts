import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { patchify, unpatchify, checkPatchGrid } from '../../src/models/vit/patch.js';
import { sincosPosEmbed2d } from '../../src/models/vit/pos-embed.js';
import { maskingFromNoise, randomMasking } from '../../src/models/mae/masking.js';
import { createMae } from '../../src/models/mae/mae.js';
import { resolveMaeConfig } from '../../src/models/mae/config.js';
import { maskedMse } from '../../src/losses/reconstruction.js';
import { randomImages, TINY_TEST } from './helpers.js';

beforeAll(async () => {
  await initEngine();
});

describe('patchify', () => {
  it('unpatchify(patchify(x)) = x and patch vectors are (row, col, channel) ordered', () => {
    const rng = createRng(1);
    const x = randomImages(2, 16, rng);
    const p = patchify(x, 4);
    expect(p.shape).toEqual([2, 16, 48]);
    const back = unpatchify(p, 4);
    expect(tf.max(tf.abs(tf.sub(back, x))).dataSync()[0]).toBe(0);
    // patch (1, 2) of image 1: pixel (row 1, col 3) channel 2 is element (1*4+3)*3+2
    const xv = x.arraySync();
    const pv = p.arraySync();
    expect(pv[1]![1 * 4 + 2]![(1 * 4 + 3) * 3 + 2]).toBe(xv[1]![4 + 1]![8 + 3]![2]);
    tf.dispose([x, p, back]);
  });
  it('names the sizes when the image is not divisible by the patch', () => {
    expect(() => checkPatchGrid(100, 16)).toThrow(/image size 100 is not divisible by patch size 16/);
    expect(() => resolveMaeConfig({ preset: 'tiny', imageSize: 120 })).toThrow(
      /120 is not divisible by patch size 16/,
    );
  });
});

describe('config', () => {
  it('resolves presets and refuses preset + explicit sizes', () => {
    const t = resolveMaeConfig({ preset: 'tiny' });
    expect([t.imageSize, t.patchSize, t.dim, t.depth, t.heads, t.decoderDim, t.decoderDepth]).toEqual([
      112, 16, 192, 12, 3, 128, 4,
    ]);
    expect(resolveMaeConfig({ preset: 'base' }).decoderDim).toBe(512);
    expect(() => resolveMaeConfig({ preset: 'tiny', dim: 64 })).toThrow(
      /preset "tiny" and explicit sizes \(dim\)/,
    );
    expect(resolveMaeConfig({ preset: null, ...TINY_TEST }).dim).toBe(32);
  });
});

describe('position embedding', () => {
  it('matches the MAE formula at a hand-computed point', () => {
    const e = sincosPosEmbed2d(8, 3, true);
    expect(Array.from(e.slice(0, 8))).toEqual(new Array(8).fill(0)); // cls row
    // row for patch (i=1, j=2): first half encodes j=2, second half i=1; omega = [1, 1/100]
    const r = (1 + 1 * 3 + 2) * 8;
    expect(e[r]).toBeCloseTo(Math.sin(2));
    expect(e[r + 1]).toBeCloseTo(Math.sin(0.02));
    expect(e[r + 2]).toBeCloseTo(Math.cos(2));
    expect(e[r + 4]).toBeCloseTo(Math.sin(1));
    expect(e[r + 7]).toBeCloseTo(Math.cos(0.01));
  });
});

describe('masking', () => {
  it('keeps floor(L(1-r)) patches per sample, is an argsort of the noise, and is reproducible by seed', () => {
    const m = randomMasking(3, 49, 0.75, createRng(5));
    expect(m.lenKeep).toBe(12);
    for (let s = 0; s < 3; s++) {
      const row = m.mask.slice(s * 49, (s + 1) * 49);
      expect(row.reduce((a, b) => a + b, 0)).toBe(37);
      const kept = Array.from(m.idsKeep.slice(s * 12, (s + 1) * 12));
      kept.forEach((id) => expect(row[id]).toBe(0));
      // kept = the 12 smallest noise values
      const noise = Array.from(m.noise.slice(s * 49, (s + 1) * 49));
      const sorted = noise.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
      expect(kept).toEqual(sorted.slice(0, 12).map((x) => x[1]));
      // idsRestore inverts the shuffle
      sorted.forEach(([, id], rank) => expect(m.idsRestore[s * 49 + id]).toBe(rank));
    }
    const again = randomMasking(3, 49, 0.75, createRng(5));
    expect(Array.from(again.mask)).toEqual(Array.from(m.mask));
    expect(Array.from(randomMasking(3, 49, 0.75, createRng(6)).mask)).not.toEqual(Array.from(m.mask));
    expect(() => randomMasking(1, 4, 1, createRng(1))).toThrow(/mask ratio must be in \[0, 1\), got 1/);
  });
  it('builds from fixed noise', () => {
    const m = maskingFromNoise(Float32Array.from([0.9, 0.1, 0.5, 0.3]), 1, 4, 0.5);
    expect(Array.from(m.idsKeep)).toEqual([1, 3]);
    expect(Array.from(m.mask)).toEqual([1, 0, 1, 0]);
    expect(Array.from(m.idsRestore)).toEqual([3, 0, 2, 1]);
  });
});

describe('masked MSE', () => {
  it('counts only removed patches', () => {
    const pred = tf.tensor3d([
      [
        [1, 1],
        [5, 5],
        [3, 3],
      ],
    ]);
    const target = tf.zeros([1, 3, 2]) as tf.Tensor3D;
    const mask = tf.tensor2d([[1, 0, 1]]);
    expect(maskedMse(pred, target, mask).dataSync()[0]).toBeCloseTo((1 + 9) / 2);
    tf.dispose([pred, target, mask]);
  });
});

describe('MAE', () => {
  it('forward shapes; the prediction at kept patches does not change the loss; reconstruct pastes visible patches', () => {
    const rng = createRng(3);
    const mae = createMae(TINY_TEST, rng.fork('init'));
    const x = randomImages(4, 32, rng);
    const m = randomMasking(4, 16, 0.75, rng);
    const before = tf.memory().numTensors;
    const f = mae.forward(x, m);
    expect(f.pred.shape).toEqual([4, 16, 192]);
    expect(f.target.shape).toEqual([4, 16, 192]);
    const rec = mae.pasteBack(x, f);
    expect(rec.shape).toEqual([4, 32, 32, 3]);
    // a visible patch is the original pixels
    const s0 = Array.from(m.idsKeep.slice(0, 4))[0] as number;
    const pr = Math.floor(s0 / 4);
    const pc = s0 % 4;
    tf.tidy(() => {
      const a = tf.slice(rec, [0, pr * 8, pc * 8, 0], [1, 8, 8, 3]);
      const b = tf.slice(x, [0, pr * 8, pc * 8, 0], [1, 8, 8, 3]);
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
      // the loss ignores predictions at kept patches
      const l1 = maskedMse(f.pred, f.target, f.mask).dataSync()[0];
      const keepMask = tf.reshape(tf.sub(1, f.mask), [4, 16, 1]);
      const noisy = tf.add(f.pred, tf.mul(keepMask, 100)) as tf.Tensor3D;
      expect(maskedMse(noisy, f.target, f.mask).dataSync()[0]).toBeCloseTo(l1!, 5);
    });
    tf.dispose([f.pred, f.target, f.mask, rec]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    const count = tf.memory().numTensors;
    mae.dispose();
    expect(tf.memory().numTensors).toBe(count - Object.keys(mae.allParams).length);
  });

  it('is deterministic by seed and trains: the loss falls on a fixed batch', async () => {
    const { createOptimizer } = await import('../../src/train/optimizer.js');
    const mk = () => createMae(TINY_TEST, createRng(9));
    const a = mk();
    const b = mk();
    expect(Array.from(a.variables['blocks.0.attn.q.w']!.dataSync())).toEqual(
      Array.from(b.variables['blocks.0.attn.q.w']!.dataSync()),
    );
    b.dispose();
    const rng = createRng(2);
    const x = randomImages(4, 32, rng);
    const m = randomMasking(4, 16, 0.5, rng);
    const opt = createOptimizer(a.variables, { kind: 'adamw', weightDecay: 0 });
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const { value, grads } = tf.variableGrads(() => {
        const f = a.forward(x, m);
        return maskedMse(f.pred, f.target, f.mask);
      }, Object.values(a.variables));
      losses.push(value.dataSync()[0]!);
      opt.step(grads, 3e-3);
      value.dispose();
      tf.dispose(Object.values(grads));
    }
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.8);
    opt.dispose();
    a.dispose();
    x.dispose();
  });
});
