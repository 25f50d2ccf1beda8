import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TRAIN_FR, trainFaceRecognizer, type TrainFrConfig } from '../../src/train/train-face.js';
import { subsamplePairs } from '../../src/loaders/verify-model.js';
import { loadFaceNet } from '../../src/loaders/face-net.js';
import { createEmbedder } from '../../src/loaders/embedders.js';
import { tf } from '../../src/engine/backend.js';
import { packImageFolder } from '../../src/data/recordio.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fr-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A CPU-sized run on the built-in sample (10 identities): r-tiny at 32 px (the loader resizes).
const base = (out: string, over: Partial<TrainFrConfig> = {}): TrainFrConfig => ({
  ...DEFAULT_TRAIN_FR,
  data: path.join(root, 'assets/sample/train'),
  out,
  backbone: 'r-tiny',
  embeddingDim: 32,
  inputSize: 32,
  batchSize: 8,
  steps: 3,
  epochs: null,
  logEvery: 1,
  checkpointEvery: 2,
  ...over,
});

describe('trainFaceRecognizer', () => {
  it('trains, logs, checkpoints, resumes to the same weights as an uninterrupted run, and loads as a FaceNet', async () => {
    const full = path.join(tmp, 'full');
    const warnings: string[] = [];
    const r = await trainFaceRecognizer(base(full), { onWarning: (m) => warnings.push(m) });
    expect(r.steps).toBe(3);
    expect(warnings.join('\n')).toMatch(/resiz/i);
    const log = fs
      .readFileSync(path.join(full, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(log.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(log.every((l) => Number.isFinite(l.loss) && l.loss > 0)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(full, 'config.json'), 'utf8')).command).toBe('train-fr');

    // Killed right after the step-2 checkpoint, then resumed: it must end where the uninterrupted run did.
    const part = path.join(tmp, 'part');
    await expect(
      trainFaceRecognizer(base(part), {
        onCheckpoint: (step) => {
          if (step === 2) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    const resumed = await trainFaceRecognizer(base(part), { resume: true });
    expect(resumed.steps).toBe(3);
    const partLog = fs
      .readFileSync(path.join(part, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(partLog.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(partLog[2]?.loss).toBeCloseTo(log[2]?.loss as number, 4);

    const a = await loadFaceNet(full);
    const b = await loadFaceNet(part);
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const ya = a.apply(x);
    const yb = b.apply(x);
    expect(ya.shape).toEqual([2, 32]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0] as number);
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([x, ya, yb]);
    a.dispose();
    b.dispose();

    const emb = await createEmbedder(full);
    expect(emb.embeddingDim).toBe(32);
    const e = await emb.embed(new Uint8Array(2 * 32 * 32 * 3).fill(128), 2);
    expect(e.length).toBe(64);
    await emb.dispose();
  });

  it('trains on an insightface train.rec/.idx exactly as on the folder it was packed from', async () => {
    const rec = path.join(tmp, 'packed', 'train');
    await packImageFolder(base('').data, rec);
    const fromFolder = await trainFaceRecognizer(base(path.join(tmp, 'rec-a'), { steps: 2 }));
    const fromRec = await trainFaceRecognizer(
      base(path.join(tmp, 'rec-b'), { steps: 2, data: `${rec}.rec` }),
    );
    expect(fromRec.steps).toBe(2);
    expect(fromRec.last?.loss).toBe(fromFolder.last?.loss);
  });

  it('extends a finished run with a new run length on resume', async () => {
    const out = path.join(tmp, 'ext');
    await trainFaceRecognizer(base(out, { steps: 1 }));
    const warnings: string[] = [];
    const r = await trainFaceRecognizer(base(out), {
      resume: true,
      runLength: { steps: 2 },
      onWarning: (w) => warnings.push(w),
    });
    expect(r.steps).toBe(2);
    expect(warnings.join()).toMatch(/new run length: 2 steps \(was 1\)/);
    // config.json says what the run now is (both trainers rewrite it on resume)
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).config.steps).toBe(2);
    // epoch = steps completed / whole batches per epoch (the same formula in both trainers)
    const images = fs
      .readdirSync(base(out).data, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile()).length;
    const perEpoch = Math.floor(images / 8);
    expect(r.last?.epoch).toBeCloseTo(2 / perEpoch, 10);
  });

  it('refuses a non-empty output without --resume/--overwrite, and bad configs with the value', async () => {
    const out = path.join(tmp, 'full');
    await expect(trainFaceRecognizer(base(out))).rejects.toThrow(
      /is not empty: pass --resume .* or --overwrite/,
    );
    await expect(trainFaceRecognizer(base(path.join(tmp, 'x1'), { backbone: 'r7' }))).rejects.toThrow(
      /unknown backbone "r7"/,
    );
    await expect(
      trainFaceRecognizer(base(path.join(tmp, 'x2'), { margin: { s: 64, m1: 1, m2: 3, m3: 0 } })),
    ).rejects.toThrow(/m2 must be in/);
    await expect(trainFaceRecognizer(base(path.join(tmp, 'x3'), { batchSize: 5000 }))).rejects.toThrow(
      /fewer than one batch of 5000/,
    );
    await expect(
      trainFaceRecognizer(base(path.join(tmp, 'x4'), { data: path.join(tmp, 'missing') })),
    ).rejects.toThrow(/missing/);
  });

  it('subsamplePairs keeps evenly spaced pairs with their folds', () => {
    const im = (k: number) => ({ data: new Uint8Array([k]), width: 1, height: 1 });
    const set = {
      name: 's',
      images: Array.from({ length: 20 }, (_, k) => im(k)),
      issame: Array.from({ length: 10 }, (_, k) => k % 2 === 0),
      folds: [0, 0, 1, 1, 2, 2, 3, 3, 4, 4],
    };
    const sub = subsamplePairs(set, 5);
    expect(sub.issame).toEqual([true, true, true, true, true]);
    expect(sub.folds).toEqual([0, 1, 2, 3, 4]);
    expect(sub.images.map((i) => i.data[0])).toEqual([0, 1, 4, 5, 8, 9, 12, 13, 16, 17]);
    expect(subsamplePairs(set, 0)).toBe(set);
  });
});
