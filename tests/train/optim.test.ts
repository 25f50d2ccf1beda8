import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { createOptimizer, isNoDecay } from '../../src/train/optimizer.js';
import { createSchedule } from '../../src/train/schedule.js';
import {
  assignWeights,
  disposeCheckpoint,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '../../src/data/checkpoint.js';

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

describe('schedule', () => {
  it('warms up linearly then follows a cosine to minLr', () => {
    const s = createSchedule({ kind: 'cosine', baseLr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 });
    expect(s.lrAt(0)).toBe(0);
    expect(s.lrAt(5)).toBeCloseTo(0.5);
    expect(s.lrAt(10)).toBeCloseTo(1);
    expect(s.lrAt(60)).toBeCloseTo(0.55);
    expect(s.lrAt(110)).toBeCloseTo(0.1);
    expect(s.lrAt(2.5)).toBeCloseTo(0.25); // fractional positions
  });
  it('refuses a warm-up longer than the run, naming the values', () => {
    expect(() =>
      createSchedule({ kind: 'cosine', baseLr: 1, minLr: 0, warmupSteps: 20, totalSteps: 10 }),
    ).toThrow(/warm-up \(20 steps\).*\(10 steps\)/);
  });
  it('supports step and poly decays', () => {
    const st = createSchedule({
      kind: 'step',
      baseLr: 1,
      minLr: 0,
      warmupSteps: 0,
      totalSteps: 100,
      milestones: [50, 80],
      gamma: 0.1,
    });
    expect(st.lrAt(10)).toBe(1);
    expect(st.lrAt(60)).toBeCloseTo(0.1);
    expect(st.lrAt(90)).toBeCloseTo(0.01);
    const p = createSchedule({
      kind: 'poly',
      baseLr: 1,
      minLr: 0,
      warmupSteps: 0,
      totalSteps: 100,
      power: 2,
    });
    expect(p.lrAt(50)).toBeCloseTo(0.25);
  });
});

describe('optimizer', () => {
  it('puts biases, norms, pos-embeds and tokens in the no-decay group', () => {
    expect(isNoDecay('enc/0/fc1/b', [10])).toBe(true);
    expect(isNoDecay('enc/0/norm1/g', [10])).toBe(true);
    expect(isNoDecay('pos_embed', [1, 4, 8])).toBe(true);
    expect(isNoDecay('mask_token', [1, 1, 8])).toBe(true);
    expect(isNoDecay('enc/0/fc1/w', [8, 10])).toBe(false);
  });

  it('AdamW matches a hand-computed torch.optim.AdamW step', () => {
    const w = tf.variable(tf.tensor2d([[1, -2]]), true, 'optim_test_w');
    const b = tf.variable(tf.tensor1d([0.5]), true, 'optim_test_b');
    const opt = createOptimizer(
      { w, b },
      { kind: 'adamw', weightDecay: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 0 },
    );
    expect(opt.groups.noDecay).toEqual(['b']);
    const g = { w: tf.tensor2d([[0.1, 0.2]]), b: tf.tensor1d([-0.3]) };
    opt.step(g, 0.01);
    // first step: m/bc1 = g, v/bc2 = g^2 -> update = g/(|g|+eps) = sign(g)
    const wv = w.dataSync();
    expect(wv[0]).toBeCloseTo(1 * (1 - 0.001) - 0.01, 6);
    expect(wv[1]).toBeCloseTo(-2 * (1 - 0.001) - 0.01, 6);
    expect(b.dataSync()[0]).toBeCloseTo(0.5 + 0.01, 6); // no decay on bias
    Object.values(g).forEach((t) => t.dispose());
    opt.dispose();
    w.dispose();
    b.dispose();
  });

  it('clips the global gradient norm and reports it; returns NaN norm without updating', () => {
    const w = tf.variable(tf.tensor1d([0, 0]), true, 'optim_test_clip');
    const opt = createOptimizer({ w }, { kind: 'sgd', momentum: 0, weightDecay: 0, clipNorm: 1 });
    const g = tf.tensor1d([3, 4]);
    const r = opt.step({ w: g }, 1);
    expect(r.gradNorm).toBeCloseTo(5);
    const v = w.dataSync();
    expect(v[0]).toBeCloseTo(-0.6, 4);
    expect(v[1]).toBeCloseTo(-0.8, 4);
    const bad = tf.tensor1d([NaN, 1]);
    expect(Number.isNaN(opt.step({ w: bad }, 1).gradNorm)).toBe(true);
    expect(w.dataSync()[0]).toBeCloseTo(-0.6, 4);
    g.dispose();
    bad.dispose();
    opt.dispose();
    w.dispose();
  });

  it('SGD momentum with decay, keyed by tf variable names from variableGrads, leaks nothing', () => {
    const before = tf.memory().numTensors;
    const w = tf.tidy(() => tf.variable(tf.tensor2d([[1, 2]]), true, 'optim_test_sgd'));
    const opt = createOptimizer([w], { kind: 'sgd', momentum: 0.9, weightDecay: 0.5, clipNorm: 0 });
    for (let i = 0; i < 2; i++) {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(w, 2)) as tf.Scalar, [w]);
      opt.step(grads, 0.1);
      value.dispose();
      Object.values(grads).forEach((t) => t.dispose());
    }
    // step1: g=2+0.5*1=2.5, buf=2.5, w=1-0.25=0.75; step2: g=2+0.375=2.375, buf=2.25+2.375=4.625, w=0.75-0.4625
    expect(w.dataSync()[0]).toBeCloseTo(0.2875, 5);
    opt.dispose();
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('checkpoint', () => {
  it('round-trips weights, optimizer state, step, rng and config; resumed optimizer continues identically', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-ckpt-'));
    const mk = (name: string) => ({
      w: tf.variable(
        tf.tensor2d([
          [0.3, -0.7],
          [1.1, 2.0],
        ]),
        true,
        `${name}_w`,
      ),
      b: tf.variable(tf.tensor1d([0.1, 0.2]), true, `${name}_b`),
    });
    const loss = (p: { w: tf.Variable; b: tf.Variable }) => () =>
      tf.sum(tf.square(tf.add(tf.matMul(tf.tensor2d([[1, 2]]), p.w), p.b))) as tf.Scalar;
    const stepN = (p: ReturnType<typeof mk>, opt: ReturnType<typeof createOptimizer>, n: number) => {
      for (let i = 0; i < n; i++) {
        const { value, grads } = tf.variableGrads(loss(p), [p.w, p.b]);
        opt.step(grads, 0.01);
        value.dispose();
        Object.values(grads).forEach((t) => t.dispose());
      }
    };
    const a = mk('ck_a');
    const optA = createOptimizer(a, { kind: 'adamw' });
    stepN(a, optA, 3);
    const rng = createRng(7);
    rng.next();
    const state = optA.getState();
    await saveCheckpoint(dir, {
      step: 3,
      weights: a,
      optimizer: state,
      rng: { data: rng.getState() },
      config: { lr: 0.01 },
    });
    Object.values(state.slots).forEach((t) => t.dispose());
    await saveCheckpoint(dir, { step: 3, weights: a, optimizer: optA.getState(), config: { lr: 0.01 } }).then(
      () => {},
    );
    // (second save at the same step overwrote the same binary; only one .bin remains)
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    expect(hasCheckpoint(dir)).toBe(true);

    const b = mk('ck_b');
    const optB = createOptimizer(b, { kind: 'adamw' });
    const loaded = loadCheckpoint(dir);
    expect(loaded.step).toBe(3);
    expect(loaded.config).toEqual({ lr: 0.01 });
    assignWeights(b, loaded.weights);
    optB.setState(loaded.optimizer!);
    disposeCheckpoint(loaded);
    stepN(a, optA, 2);
    stepN(b, optB, 2);
    expect(Array.from(b.w.dataSync())).toEqual(Array.from(a.w.dataSync()));
    expect(Array.from(b.b.dataSync())).toEqual(Array.from(a.b.dataSync()));
    [optA, optB].forEach((o) => o.dispose());
    [a, b].forEach((p) => Object.values(p).forEach((v) => v.dispose()));
  });

  it('keeps the previous checkpoint readable and errors name a truncated binary', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-ckpt-'));
    const t = tf.tensor1d([1, 2, 3]);
    await saveCheckpoint(dir, { step: 1, weights: { t } });
    await saveCheckpoint(dir, { step: 2, weights: { t } });
    expect(fs.existsSync(path.join(dir, 'checkpoint-1.bin'))).toBe(false);
    fs.truncateSync(path.join(dir, 'checkpoint-2.bin'), 5);
    expect(() => loadCheckpoint(dir)).toThrow(/checkpoint-2\.bin has 5 bytes, expected 12/);
    expect(() => loadCheckpoint(path.join(dir, 'nope'))).toThrow(/no checkpoint in .*nope/);
    t.dispose();
  });

  it('stores int8 weights with per-channel scales and reads them back within half a step', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-ckpt-'));
    const vals = [0.5, -40, 0.01, 2, -0.25, 10];
    const w = tf.tensor2d(vals, [3, 2]);
    await saveCheckpoint(dir, { step: 0, weights: { w } }, { int8: true });
    expect(fs.statSync(path.join(dir, 'checkpoint-0.bin')).size).toBe(8 + 8); // 6 bytes (+2 pad) + 2 scales
    const l = loadCheckpoint(dir);
    const got = Array.from(l.weights.w!.dataSync());
    const scale = [0.5 / 127, 40 / 127]; // per column: max |.| of column 0 is 0.5, of column 1 is 40
    vals.forEach((x, i) =>
      expect(Math.abs((got[i] as number) - x)).toBeLessThanOrEqual((scale[i % 2] as number) / 2 + 1e-7),
    );
    disposeCheckpoint(l);
    w.dispose();
  });

  it('stores float16 weights compactly and reads them back approximately', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-ckpt-'));
    const t = tf.tensor1d([0.1, -2.5, 1000, 1e-5]);
    await saveCheckpoint(dir, { step: 0, weights: { t } }, { half: true });
    const l = loadCheckpoint(dir);
    const v = Array.from(l.weights.t!.dataSync());
    [0.1, -2.5, 1000, 1e-5].forEach((x, i) =>
      expect(Math.abs((v[i] as number) - x)).toBeLessThan(Math.abs(x) * 1e-3 + 1e-7),
    );
    disposeCheckpoint(l);
    t.dispose();
  });
});
