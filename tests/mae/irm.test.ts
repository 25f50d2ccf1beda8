import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { irmFromEmbeddings, irmLoss, DEFAULT_IRM } from '../../src/losses/irm.js';
import { createMae } from '../../src/models/mae/mae.js';
import { randomMasking } from '../../src/models/mae/masking.js';
import { createOptimizer } from '../../src/train/optimizer.js';
import { randomImages, tinyFaceNet, TINY_TEST } from './helpers.js';

beforeAll(async () => {
  await initEngine();
});

describe('IRM', () => {
  it('is 0 for identical batches (and for the same relations at another scale), > 0 otherwise', () => {
    const rng = createRng(4);
    const e = tf.tensor2d(
      Float32Array.from({ length: 6 * 8 }, () => rng.normal()),
      [6, 8],
    );
    const f = tf.tensor2d(
      Float32Array.from({ length: 6 * 8 }, () => rng.normal()),
      [6, 8],
    );
    tf.tidy(() => {
      for (const direction of ['real-rec', 'rec-real', 'symmetric'] as const) {
        for (const excludeDiagonal of [true, false]) {
          const cfg = { ...DEFAULT_IRM, direction, excludeDiagonal };
          expect(Math.abs(irmFromEmbeddings(e, e, cfg).dataSync()[0]!)).toBeLessThan(1e-5);
          expect(
            Math.abs(irmFromEmbeddings(e, tf.mul(e, 3) as tf.Tensor2D, cfg).dataSync()[0]!),
          ).toBeLessThan(1e-5);
          expect(irmFromEmbeddings(e, f, cfg).dataSync()[0]!).toBeGreaterThan(0.01);
        }
      }
    });
    tf.dispose([e, f]);
  });

  it('matches a hand computation of KL(P_real || P_rec) without the diagonal', () => {
    // 3 unit vectors: cos matrices known in closed form
    const a = tf.tensor2d([
      [1, 0],
      [0, 1],
      [Math.SQRT1_2, Math.SQRT1_2],
    ]);
    const b = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 0],
    ]);
    const tau = 0.5;
    const rows = (c: number[][]) =>
      c.map((r, i) => {
        const off = r.map((v, j) => (j === i ? -Infinity : v / tau));
        const z = off.reduce((s, v) => s + Math.exp(v), 0);
        return off.map((v) => Math.exp(v) / z);
      });
    const h = Math.SQRT1_2;
    const P = rows([
      [1, 0, h],
      [0, 1, h],
      [h, h, 1],
    ]);
    const Q = rows([
      [1, 0, 1],
      [0, 1, 0],
      [1, 0, 1],
    ]);
    let kl = 0;
    P.forEach((r, i) =>
      r.forEach((p, j) => {
        if (p > 0) kl += p * Math.log(p / Q[i]![j]!);
      }),
    );
    const got = tf.tidy(() => irmFromEmbeddings(a, b, { ...DEFAULT_IRM, temperature: tau }).dataSync()[0]!);
    expect(got).toBeCloseTo(kl / 3, 4);
    tf.dispose([a, b]);
  });

  it('back-propagates into the MAE only; the frozen teacher is unchanged by a training step', () => {
    const rng = createRng(8);
    const mae = createMae(TINY_TEST, rng.fork('init'));
    const teacher = tinyFaceNet(32, 16, rng.fork('teacher'));
    const x = randomImages(4, 32, rng);
    const m = randomMasking(4, 16, 0.75, rng);
    const opt = createOptimizer(mae.variables, { kind: 'adamw' });
    const w1Before = Array.from(teacher.w1.dataSync());
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const rec = mae.reconstruct(x, m);
      return irmLoss(teacher, x, rec);
    }, Object.values(mae.variables));
    expect(value.dataSync()[0]!).toBeGreaterThan(0);
    const names = new Set(Object.values(mae.variables).map((v) => v.name));
    expect(Object.keys(grads).every((k) => names.has(k))).toBe(true);
    expect(Object.keys(grads)).not.toContain(teacher.w1.name);
    const gPred = grads[mae.variables['decoder_pred.w']!.name]!;
    expect(tf.tidy(() => tf.max(tf.abs(gPred)).dataSync()[0]!)).toBeGreaterThan(0);
    opt.step(grads, 1e-3);
    value.dispose();
    tf.dispose(Object.values(grads));
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(teacher.w1.dataSync())).toEqual(w1Before);
    opt.dispose();
    mae.dispose();
    teacher.dispose();
    x.dispose();
  });

  it('with lowPass f the gradient reaching the reconstruction is constant on each f×f block', () => {
    const rng = createRng(11);
    const teacher = tinyFaceNet(TINY_TEST.imageSize, 8, rng);
    const real = randomImages(4, TINY_TEST.imageSize, rng);
    const rec = randomImages(4, TINY_TEST.imageSize, rng);
    const gradOf = (lowPass: number) =>
      tf.tidy(() =>
        tf
          .grad((r: tf.Tensor) => irmLoss(teacher, real, r as tf.Tensor4D, { ...DEFAULT_IRM, lowPass }))(rec)
          .arraySync(),
      ) as number[][][][];
    const blockSpread = (g: number[][][][], f: number) => {
      let spread = 0;
      let scale = 0;
      for (const img of g)
        for (let y = 0; y < img.length; y++)
          for (let x = 0; x < img[0]!.length; x++)
            for (let c = 0; c < 3; c++) {
              const v = img[y]![x]![c]!;
              const corner = img[y - (y % f)]![x - (x % f)]![c]!;
              spread = Math.max(spread, Math.abs(v - corner));
              scale = Math.max(scale, Math.abs(v));
            }
      return { spread, scale };
    };
    const off = blockSpread(gradOf(1), 2);
    const on = blockSpread(gradOf(2), 2);
    expect(off.spread).toBeGreaterThan(0.1 * off.scale); // without it, detail within blocks
    expect(on.scale).toBeGreaterThan(0);
    expect(on.spread).toBeLessThan(1e-6 * Math.max(1, on.scale));
    expect(() => irmLoss(teacher, real, rec, { ...DEFAULT_IRM, lowPass: 1.5 })).toThrow(/irm.lowPass/);
    tf.dispose([real, rec]);
    teacher.dispose();
  });

  it('refuses a batch too small to have relations', () => {
    const e = tf.ones([2, 4]) as tf.Tensor2D;
    expect(() => irmFromEmbeddings(e, e)).toThrow(/at least 3 images, got 2/);
    e.dispose();
  });
});
