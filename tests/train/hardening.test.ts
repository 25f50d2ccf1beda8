/**
 * Lost or blocked work (issue 15): --resume on other data is refused naming both, a run that
 * failed before its first step does not block the corrected re-run, irm.weight is validated and
 * says why IRM is off, and a damaged image is named.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { encodeImage } from '../../src/data/image-folder.js';
import { DEFAULT_TRAIN_MAE, trainMae, type TrainMaeConfig } from '../../src/train/pretrain-mae.js';
import { DEFAULT_TRAIN_FR, trainFaceRecognizer } from '../../src/train/train-face.js';
import { checkResumeDataset, datasetFingerprint } from '../../src/train/dataset-fingerprint.js';
import { listImageFolder } from '../../src/data/image-folder.js';
import { makeDataset, TINY_TEST } from '../mae/helpers.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-hard-'));
let data = '';
const base = (out: string, over: Partial<TrainMaeConfig> = {}): TrainMaeConfig => ({
  ...DEFAULT_TRAIN_MAE,
  data,
  out,
  model: { ...TINY_TEST, preset: null },
  steps: 2,
  epochs: null,
  batchSize: 4,
  checkpointEvery: 1,
  sampleEvery: 0,
  ...over,
});

beforeAll(async () => {
  await initEngine();
  data = await makeDataset();
});

describe('dataset fingerprint', () => {
  it('changes with the file list or a size, not with the folder location', async () => {
    const a = datasetFingerprint(data, (await listImageFolder(data)).records);
    const moved = path.join(tmp(), 'moved');
    fs.cpSync(data, moved, { recursive: true });
    expect(datasetFingerprint(moved, (await listImageFolder(moved)).records).sha256).toBe(a.sha256);
    fs.appendFileSync(path.join(moved, 'id0', '0.png'), Buffer.from([0]));
    const b = datasetFingerprint(moved, (await listImageFolder(moved)).records);
    expect(b.sha256).not.toBe(a.sha256);
    expect(() => checkResumeDataset('RUN', a, b)).toThrow(
      new RegExp(`cannot resume RUN: it was trained on ${data} .* but --data ${moved} holds other files`),
    );
  });

  it('train-mae and train-fr refuse --resume with a different --data, naming both', async () => {
    const other = path.join(tmp(), 'other');
    fs.cpSync(data, other, { recursive: true });
    fs.copyFileSync(path.join(other, 'id0', '0.png'), path.join(other, 'id0', 'extra.png'));

    const out = tmp();
    await trainMae(base(out, { steps: 1 }));
    await expect(trainMae(base(out, { data: other }), { resume: true })).rejects.toThrow(
      new RegExp(`it was trained on ${data} \\(12 files.*--data ${other} holds other files \\(13 files`),
    );
    // the same data resumes
    expect((await trainMae(base(out), { resume: true, runLength: { steps: 2 } })).steps).toBe(2);

    const fr = tmp();
    const frCfg = {
      ...DEFAULT_TRAIN_FR,
      data,
      out: fr,
      backbone: 'r-tiny' as const,
      embeddingDim: 16,
      inputSize: 32,
      batchSize: 4,
      steps: 1,
      epochs: null,
      verify: [],
    };
    await trainFaceRecognizer(frCfg);
    await expect(trainFaceRecognizer({ ...frCfg, data: other, steps: 2 }, { resume: true })).rejects.toThrow(
      new RegExp(`it was trained on ${data} .*--data ${other} holds other files`),
    );
  });
});

describe('a run that fails before its first step', () => {
  it('does not block the corrected re-run', async () => {
    const out = tmp();
    await expect(
      trainMae(base(out, { irm: { ...DEFAULT_TRAIN_MAE.irm, teacher: path.join(out, 'missing.onnx') } }), {
        loadTeacher: async (spec) => {
          throw new Error(`cannot load ${spec}`);
        },
      }),
    ).rejects.toThrow(/missing\.onnx/);
    expect(fs.readdirSync(out)).toEqual(['config.json']);
    // corrected: no teacher; same --out, no --overwrite
    expect((await trainMae(base(out))).steps).toBe(2);
  });
});

describe('irm.weight', () => {
  it('NaN or negative is refused; 0 with a teacher says IRM is off because the weight is 0', async () => {
    const teacher = { ...DEFAULT_TRAIN_MAE.irm, teacher: 'faceplugin' };
    for (const w of [NaN, -1, 'NaN' as unknown as number]) {
      await expect(trainMae(base(tmp(), { irm: { ...teacher, weight: w } }))).rejects.toThrow(
        /irm\.weight must be a finite number >= 0/,
      );
    }
    const warnings: string[] = [];
    const r = await trainMae(base(tmp(), { steps: 1, irm: { ...teacher, weight: 0 } }), {
      onWarning: (m) => warnings.push(m),
      loadTeacher: () => Promise.reject(new Error('the teacher must not be loaded at weight 0')),
    });
    expect(r.irm).toBe(false);
    expect(warnings.join('\n')).toMatch(/IRM is off because irm\.weight is 0/);
    expect(warnings.join('\n')).not.toMatch(/no --irm-teacher/);
  });
});

describe('a truncated JPEG in the training data', () => {
  it('is named in the error', async () => {
    const broken = path.join(tmp(), 'broken');
    fs.cpSync(data, broken, { recursive: true });
    const img = { data: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 13) & 255), width: 32, height: 32 };
    const jpg = await encodeImage(img, 'jpg');
    const bad = path.join(broken, 'id1', 'zz.jpg');
    fs.writeFileSync(bad, jpg.subarray(0, Math.floor(jpg.length / 2)));
    await expect(trainMae(base(tmp(), { data: broken, steps: 3 }))).rejects.toThrow(
      new RegExp(`cannot decode image ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  });
});
