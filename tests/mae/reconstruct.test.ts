import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { readImage } from '../../src/data/image-folder.js';
import { DEFAULT_TRAIN_MAE, trainMae } from '../../src/train/pretrain-mae.js';
import { reconstructDataset } from '../../src/protect/reconstruct-dataset.js';
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
      /cannot resume .*: its images were made with seed 3, not seed 4;/,
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

  it('pasteBack: 0 releases the decoder everywhere, 0.5 lies between; removed patches, masks and resume follow it', async () => {
    const outs: Record<string, string> = {};
    for (const pb of [1, 0.5, 0]) {
      outs[pb] = tmp();
      await reconstructDataset({ model: run, data, out: outs[pb]!, pasteBack: pb, overwrite: true });
    }
    const man = (pb: number) => lines(path.join(outs[pb]!, 'manifest.jsonl'));
    expect(man(1)[0].pasteBack).toBeUndefined(); // the default leaves the manifest line as it was
    expect(man(0)[0].pasteBack).toBe(0);
    expect(man(0).map((m) => m.keep.join())).toEqual(man(1).map((m) => m.keep.join()));
    const m0 = man(1).find((m) => m.output === 'images/id0/0.png');
    const src = await readImage(path.join(data, 'id0', '0.png'));
    const img = (pb: number) => readImage(path.join(outs[pb]!, m0.output));
    const [r1, rh, r0] = [await img(1), await img(0.5), await img(0)];
    let visible0 = 0;
    let removedDiff = 0;
    let between = 0;
    for (let i = 0; i < 32 * 32; i++) {
      const patch = Math.floor(Math.floor(i / 32) / 8) * 4 + Math.floor((i % 32) / 8);
      for (let c = 0; c < 3; c++) {
        const o = i * 3 + c;
        if (m0.keep.includes(patch)) {
          visible0 = Math.max(visible0, Math.abs(r0.data[o]! - src.data[o]!));
          const lo = Math.min(r0.data[o]!, r1.data[o]!) - 1;
          const hi = Math.max(r0.data[o]!, r1.data[o]!) + 1;
          if (rh.data[o]! < lo || rh.data[o]! > hi) between++;
        } else removedDiff = Math.max(removedDiff, Math.abs(r0.data[o]! - r1.data[o]!));
      }
    }
    expect(visible0).toBeGreaterThan(2); // the real pixels are gone from the visible patches
    expect(between).toBe(0); // the blend lies between the two releases
    expect(removedDiff).toBeLessThanOrEqual(1); // the removed patches are the decoder's in all three
    await expect(
      reconstructDataset({ model: run, data, out: outs[0]!, pasteBack: 1, resume: true }),
    ).rejects.toThrow(/made with pasteBack 0, not pasteBack 1;/);
    await expect(reconstructDataset({ model: run, data, out: tmp(), pasteBack: 1.5 })).rejects.toThrow(
      /pasteBack must be a number in \[0, 1\]/,
    );
    const { readProtection } = await import('../../src/protect/protection.js');
    expect(readProtection(path.join(outs[0]!, 'images'))).toMatchObject({ method: 'facemae', pasteBack: 0 });
    expect(readProtection(path.join(outs[1]!, 'images'))?.pasteBack).toBeUndefined();
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
    expect(r.relation).toBeUndefined();
    // with a teacher: the relation term and identity cosine of the reconstructions
    const { tinyFaceNet } = await import('./helpers.js');
    const { createRng } = await import('../../src/core/rng.js');
    const teacher = tinyFaceNet(TINY_TEST.imageSize, 8, createRng(2));
    const t = await evaluateMaskedLoss(loaded.mae, records, { maskRatio: 0.75, batchSize: 6, teacher });
    expect(t.mae).toBeCloseTo(r.mae, 6);
    expect(t.relation).toBeGreaterThan(0);
    expect(t.identityCosine).toBeGreaterThan(-1);
    expect(t.identityCosine).toBeLessThan(1);
    teacher.dispose();
    loaded.mae.dispose();
  });
});
