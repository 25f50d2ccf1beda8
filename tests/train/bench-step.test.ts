/**
 * The benches time the trainers' own steps: `npm run bench -- mae|irm|fr` (bench/mae.ts, bench/fr.ts)
 * and one step of trainMae / trainFaceRecognizer on the same seeded batch give the same loss and
 * the same updated weights. If either side changes its model, loss or optimizer alone, this fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { openFaceSource } from '../../src/data/source.js';
import { disposeCheckpoint, loadCheckpoint } from '../../src/data/checkpoint.js';
import { resumableBatches } from '../../src/train/resumable.js';
import { batchesPerEpoch, type TrainerConfig } from '../../src/train/trainer.js';
import { DEFAULT_TRAIN_MAE, trainMae, type TrainMaeConfig } from '../../src/train/pretrain-mae.js';
import { DEFAULT_TRAIN_FR, trainFaceRecognizer, type TrainFrConfig } from '../../src/train/train-face.js';
import type { FaceBatch } from '../../src/types.js';
import { setupMaeBench } from '../../bench/mae.js';
import { setupFrBench } from '../../bench/fr.js';
import { makeDataset, tinyFaceNet, TINY_TEST } from '../mae/helpers.js';

let data = '';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-bench-step-'));
beforeAll(async () => {
  await initEngine();
  data = await makeDataset(); // 3 identities × 4 images, 32 px
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(data, { recursive: true, force: true });
});

/** The first batch the trainer reads for `cfg` (same seed, order and flips). */
async function firstBatch(cfg: TrainerConfig, size: number): Promise<FaceBatch> {
  const source = await openFaceSource(cfg.data);
  try {
    for await (const b of resumableBatches(source, {
      seed: cfg.seed,
      startStep: 0,
      perEpoch: batchesPerEpoch(source.length, cfg.batchSize),
      totalSteps: 1,
      batchSize: cfg.batchSize,
      size,
      flip: cfg.flip,
    }))
      return { ...b.batch, images: b.images }; // with flips, b.images replaces (and disposed) b.batch.images
  } finally {
    await source.close();
  }
  throw new Error('no batch');
}

/** Max |a − b| over the checkpoint's weights and the bench's parameters after its step. */
function maxWeightDiff(out: string, params: Record<string, tf.Variable>): number {
  const ck = loadCheckpoint(out);
  let worst = 0;
  try {
    for (const [k, v] of Object.entries(params)) {
      const saved = ck.weights[k];
      if (!saved) throw new Error(`checkpoint has no ${k}`);
      const a = saved.dataSync();
      const b = v.dataSync();
      for (let i = 0; i < a.length; i++)
        worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
    }
  } finally {
    disposeCheckpoint(ck);
  }
  return worst;
}

const closeRel = (a: number, b: number) =>
  expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b)));

describe('the bench steps are the trainers’ steps', () => {
  for (const irm of [false, true]) {
    it(`train-mae${irm ? ' with IRM' : ''}: same loss and same weights after one step`, async () => {
      const out = path.join(tmp, `mae-${irm}`);
      const cfg: TrainMaeConfig = {
        ...DEFAULT_TRAIN_MAE,
        data,
        out,
        model: { ...TINY_TEST, preset: null },
        steps: 1,
        epochs: null,
        batchSize: 4,
        logEvery: 1,
        sampleEvery: 0,
        seed: 9,
        irm: { ...DEFAULT_TRAIN_MAE.irm, teacher: irm ? 'test' : null },
      };
      const teacherFor = () => tinyFaceNet(32, 8, createRng(3));
      let log: { loss: number; mse: number; irm: number | null; lr: number } | undefined;
      await trainMae(cfg, { loadTeacher: async () => teacherFor(), onStep: (l) => (log = l) });
      if (!log) throw new Error('no step logged');
      if (irm) expect(log.irm).not.toBeNull();

      const teacher = irm ? teacherFor() : null;
      const bench = setupMaeBench(cfg, teacher);
      const batch = await firstBatch(cfg, 32);
      try {
        const r = await bench.run(batch.images, 0, log.lr);
        closeRel(r.loss, log.loss);
        closeRel(r.fields.mse ?? NaN, log.mse);
        if (irm) closeRel(r.fields.irm ?? NaN, log.irm ?? NaN);
        expect(maxWeightDiff(out, bench.training.params)).toBeLessThan(1e-6);
      } finally {
        batch.images.dispose();
        bench.dispose();
        teacher?.dispose();
      }
    });
  }

  it('train-fr: same loss and same weights after one step', async () => {
    const out = path.join(tmp, 'fr');
    const cfg: TrainFrConfig = {
      ...DEFAULT_TRAIN_FR,
      data,
      out,
      backbone: 'r-tiny',
      embeddingDim: 16,
      inputSize: 32,
      steps: 1,
      epochs: null,
      batchSize: 4,
      logEvery: 1,
      seed: 4,
    };
    let log: { loss: number; lr: number } | undefined;
    await trainFaceRecognizer(cfg, { onStep: (l) => (log = l) });
    if (!log) throw new Error('no step logged');
    const bench = setupFrBench(cfg, 3);
    const batch = await firstBatch(cfg, 32);
    try {
      const r = await bench.run(batch.images, batch.labels, 0, log.lr);
      closeRel(r.loss, log.loss);
      expect(maxWeightDiff(out, bench.training.params)).toBeLessThan(1e-6);
    } finally {
      batch.images.dispose();
      bench.dispose();
    }
  });
});
