import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { DEFAULT_TRAIN_MAE, trainMae, type TrainMaeConfig } from '../../src/train/pretrain-mae.js';
import { loadCheckpoint, disposeCheckpoint } from '../../src/data/checkpoint.js';
import { makeDataset, tinyFaceNet, TINY_TEST } from './helpers.js';

let data = '';
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-train-'));

const base = (out: string, over: Partial<TrainMaeConfig> = {}): TrainMaeConfig => ({
  ...DEFAULT_TRAIN_MAE,
  data,
  out,
  model: { ...TINY_TEST, preset: null },
  steps: 8,
  epochs: null,
  batchSize: 4,
  lr: 2e-3,
  logEvery: 1,
  checkpointEvery: 3,
  sampleEvery: 4,
  seed: 5,
  ...over,
});

beforeAll(async () => {
  await initEngine();
  data = await makeDataset();
});

describe('trainMae', () => {
  it('writes log.jsonl, checkpoints, sample grids and config; says IRM is off; resume after a kill gives the same weights', async () => {
    const outA = tmp();
    const warnings: string[] = [];
    const r = await trainMae(base(outA), { onWarning: (w) => warnings.push(w) });
    expect(r.steps).toBe(8);
    expect(warnings.join('\n')).toMatch(/IRM is off/);
    const lines = fs
      .readFileSync(path.join(outA, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Object.keys(lines[0])).toEqual(
      expect.arrayContaining(['step', 'lr', 'loss', 'mse', 'irm', 'imgPerSec']),
    );
    expect(lines[0].irm).toBeNull();
    expect(fs.existsSync(path.join(outA, 'samples', 'latest.png'))).toBe(true);
    expect(fs.existsSync(path.join(outA, 'samples', 'step-000004.png'))).toBe(true);
    expect(fs.existsSync(path.join(outA, 'config.json'))).toBe(true);

    // killed at step 5 (after the step-3 checkpoint), then resumed
    const outB = tmp();
    await expect(
      trainMae(base(outB), {
        onStep: (s) => {
          if (s.step === 5) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect(loadCheckpoint(outB).step).toBe(3);
    await expect(trainMae(base(outB))).rejects.toThrow(/not empty: pass --resume/);
    const r2 = await trainMae(base(outB), { resume: true });
    expect(r2.steps).toBe(8);
    const a = loadCheckpoint(outA);
    const b = loadCheckpoint(outB);
    for (const [k, t] of Object.entries(a.weights))
      expect(Array.from(b.weights[k]!.dataSync()), k).toEqual(Array.from(t.dataSync()));
    const logB = fs
      .readFileSync(path.join(outB, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(logB.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(logB.map((l) => l.loss)).toEqual(lines.map((l) => l.loss));
    disposeCheckpoint(a);
    disposeCheckpoint(b);
    // a finished run can be extended
    const warnings2: string[] = [];
    const r3 = await trainMae(base(outB), {
      resume: true,
      runLength: { steps: 10 },
      onWarning: (w) => warnings2.push(w),
    });
    expect(r3.steps).toBe(10);
    expect(warnings2.join()).toMatch(/new run length: 10 steps \(was 8\)/);
  });

  it('trains with IRM through a frozen teacher and logs both terms', async () => {
    const out = tmp();
    const teacher = tinyFaceNet(32, 8, createRng(3));
    const w1 = Array.from(teacher.w1.dataSync());
    let disposed = false;
    const r = await trainMae(
      base(out, { steps: 3, irm: { ...DEFAULT_TRAIN_MAE.irm, teacher: 'test', weight: 1 } }),
      {
        loadTeacher: async () => ({
          ...teacher,
          dispose: () => {
            expect(Array.from(teacher.w1.dataSync())).toEqual(w1); // never updated
            disposed = true;
            teacher.dispose();
          },
        }),
      },
    );
    expect(r.irm).toBe(true);
    expect(disposed).toBe(true);
    const lines = fs
      .readFileSync(path.join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0].irm).toBeGreaterThan(0);
    expect(lines[0].loss).toBeCloseTo(lines[0].mse + lines[0].irm, 4);
  });

  it('with IRM, reuses the teacher embeddings of images seen before, and a resumed run (empty cache) trains the same', async () => {
    const teacher = tinyFaceNet(32, 8, createRng(3));
    let rows = 0;
    const counting = async () => ({
      ...teacher,
      apply: (x: Parameters<typeof teacher.apply>[0], t?: boolean) => {
        rows += x.shape[0];
        return teacher.apply(x, t);
      },
      dispose: () => {},
    });
    // 12 images, batch 4: epoch 2 (steps 4-6) meets each image again, mirrored or not
    const cfg = (out: string) => base(out, { steps: 6, irm: { ...DEFAULT_TRAIN_MAE.irm, teacher: 'test' } });
    const outA = tmp();
    await trainMae(cfg(outA), { loadTeacher: counting });
    const rowsA = rows;
    expect(rowsA).toBeGreaterThan(6 * 4 + 12); // rec of every step + every image once
    expect(rowsA).toBeLessThan(6 * 4 * 2); // without the cache: real and rec of every step
    const outB = tmp();
    await expect(
      trainMae(cfg(outB), {
        loadTeacher: counting,
        onStep: (s) => {
          if (s.step === 5) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    await trainMae(cfg(outB), { loadTeacher: counting, resume: true });
    // The resumed run recomputes what run A took from its cache: the same up to float rounding.
    // (Losses, not weights: AdamW turns the rounding noise of gradients that are zero in exact
    // arithmetic, such as the attention key bias's, into lr-sized steps that change no output.)
    const log = (out: string) =>
      fs
        .readFileSync(path.join(out, 'log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { step: number; loss: number; irm: number });
    const la = log(outA);
    const lb = log(outB);
    expect(lb.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    la.forEach((l, i) => {
      expect(Math.abs(lb[i]!.loss - l.loss)).toBeLessThan(1e-5);
      expect(Math.abs(lb[i]!.irm - l.irm)).toBeLessThan(1e-5);
    });
    teacher.dispose();
  });

  it('aborts on a non-finite loss naming the step and the batch images', async () => {
    const out = tmp();
    await expect(trainMae(base(out, { lr: 1e38, clipNorm: 0, weightDecay: 0, steps: 6 }))).rejects.toThrow(
      /non-finite (loss|gradient norm).* at step \d+.*batch: .*id\d[/\\]\d\.png/,
    );
  });
});

describe('trainMae with init (fine-tuning a trained MAE)', () => {
  it('starts from the source weights and model config, and names a bad source', async () => {
    const src = tmp();
    await trainMae(base(src, { steps: 3 }));
    // lr 0: the fine-tuning run must end with exactly the source weights
    const ft = tmp();
    await trainMae(base(ft, { init: src, steps: 2, lr: 0, model: { preset: 'tiny' } }));
    const a = loadCheckpoint(src);
    const b = loadCheckpoint(ft);
    try {
      expect(Object.keys(b.weights).sort()).toEqual(Object.keys(a.weights).sort());
      for (const [name, t] of Object.entries(a.weights)) {
        expect(Array.from(b.weights[name]!.dataSync())).toEqual(Array.from(t.dataSync()));
      }
      const saved = JSON.parse(fs.readFileSync(path.join(ft, 'config.json'), 'utf8')).config;
      expect(saved.model.dim).toBe(32);
      expect(saved.init).toBe(src);
    } finally {
      disposeCheckpoint(a);
      disposeCheckpoint(b);
    }
    await expect(trainMae(base(tmp(), { init: tmp() }))).rejects.toThrow(
      /init .* holds no checkpoint \(no checkpoint\.json\): give a train-mae run folder/,
    );
  });
});
