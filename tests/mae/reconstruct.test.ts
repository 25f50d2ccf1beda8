import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { readImage } from '../../src/data/image-folder.js';
import { DEFAULT_TRAIN_MAE, trainMae } from '../../src/train/pretrain-mae.js';
import { reconstructDataset } from '../../src/deploy/reconstruct.js';
import { loadMaeRun } from '../../src/deploy/load-mae.js';
import { makeDataset, TINY_TEST } from './helpers.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-rec-'));
let data = '';
let run = '';

beforeAll(async () => {
  await initEngine();
  data = await makeDataset();
  run = tmp();
  await trainMae({
    ...DEFAULT_TRAIN_MAE,
    data,
    out: run,
    model: { ...TINY_TEST, preset: null },
    steps: 2,
    epochs: null,
    batchSize: 4,
    sampleEvery: 0,
  });
});

const lines = (f: string) =>
  fs
    .readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('reconstructDataset', () => {
  it('writes every image in the same layout with visible patches unchanged, and a manifest', async () => {
    const out = tmp();
    const r = await reconstructDataset({ model: run, data, out, batchSize: 5, overwrite: true });
    expect(r.images).toBe(12);
    expect(r.written).toBe(12);
    const man = lines(r.manifest);
    expect(man).toHaveLength(12);
    expect(man[0].output).toMatch(/^images\/id\d\/\d\.png$/);
    const m0 = man.find((m) => m.output === 'images/id0/0.png');
    expect(m0.keep).toHaveLength(4); // 16 patches, ratio 0.75
    const src = await readImage(path.join(data, 'id0', '0.png'));
    const rec = await readImage(path.join(out, m0.output));
    // a kept patch (8×8) is identical (PNG is lossless); a removed one differs
    const patchDiff = (idx: number) => {
      const pr = Math.floor(idx / 4);
      const pc = idx % 4;
      let d = 0;
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          for (let c = 0; c < 3; c++) {
            const o = ((pr * 8 + y) * 32 + pc * 8 + x) * 3 + c;
            d = Math.max(d, Math.abs(src.data[o]! - rec.data[o]!));
          }
      return d;
    };
    expect(patchDiff(m0.keep[0])).toBeLessThanOrEqual(1);
    const removed = Array.from({ length: 16 }, (_, i) => i).filter((i) => !m0.keep.includes(i));
    expect(Math.max(...removed.map(patchDiff))).toBeGreaterThan(2);
    expect(fs.existsSync(path.join(out, 'config.json'))).toBe(true);
  });

  it('is reproducible by seed and resumes after a kill without redoing or losing images', async () => {
    const outA = tmp();
    await reconstructDataset({ model: run, data, out: outA, batchSize: 4, seed: 3, overwrite: true });
    const outB = tmp();
    let calls = 0;
    await expect(
      reconstructDataset({
        model: run,
        data,
        out: outB,
        batchSize: 4,
        seed: 3,
        overwrite: true,
        onProgress: (done) => {
          calls++;
          if (done === 4) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect(calls).toBeGreaterThan(0);
    expect(lines(path.join(outB, 'manifest.jsonl'))).toHaveLength(4);
    await expect(reconstructDataset({ model: run, data, out: outB, seed: 4, resume: true })).rejects.toThrow(
      /made with seed 3 .* not 4/,
    );
    const r = await reconstructDataset({ model: run, data, out: outB, batchSize: 4, seed: 3, resume: true });
    expect(r.skipped).toBe(4);
    expect(r.written).toBe(8);
    const man = lines(r.manifest);
    expect(new Set(man.map((m) => m.source)).size).toBe(12);
    for (const m of man) {
      expect(
        fs.readFileSync(path.join(outB, m.output)).equals(fs.readFileSync(path.join(outA, m.output))),
        m.output,
      ).toBe(true);
    }
    const outC = tmp();
    await reconstructDataset({ model: run, data, out: outC, seed: 4, overwrite: true });
    const m4 = lines(path.join(outC, 'manifest.jsonl'));
    expect(m4.map((m) => m.keep.join())).not.toEqual(
      lines(path.join(outA, 'manifest.jsonl')).map((m) => m.keep.join()),
    );
  });

  it('packs a .rec with --format rec, and refuses a run folder without a checkpoint', async () => {
    const out = tmp();
    const r = await reconstructDataset({ model: run, data, out, format: 'rec', overwrite: true });
    expect(r.rec).toBeDefined();
    expect(fs.statSync(r.rec!).size).toBeGreaterThan(1000);
    await expect(loadMaeRun(tmp())).rejects.toThrow(/holds no checkpoint .*: give a train-mae run folder/);
  });
});

describe('evaluateMaskedLoss', () => {
  it('scores the model and the two trivial predictors on the same masks', async () => {
    const { evaluateMaskedLoss } = await import('../../src/train/eval-mae.js');
    const { listImageFolder } = await import('../../src/data/image-folder.js');
    const { records } = await listImageFolder(data);
    const loaded = await loadMaeRun(run);
    const r = await evaluateMaskedLoss(loaded.mae, records, { maskRatio: 0.75, batchSize: 5 });
    expect(r.images).toBe(12);
    for (const v of [r.mae, r.visibleMean, r.positionMean]) expect(v).toBeGreaterThan(0);
    // the same image repeated: the position mean is that image, a perfect predictor
    const same = await evaluateMaskedLoss(loaded.mae, [records[0]!, records[0]!, records[0]!], {
      maskRatio: 0.75,
    });
    expect(same.positionMean).toBeLessThan(1e-6);
    expect(same.visibleMean).toBeGreaterThan(1e-3);
    loaded.mae.dispose();
  });
});
