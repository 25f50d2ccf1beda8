/**
 * Provenance travels with protected outputs (issue 15): reconstruct records the model's and the
 * IRM teacher's content hashes, `privacy` finds them from OUT or OUT/images, a copied or moved
 * teacher is still recognised, and names from a hostile .rec cannot steer writes outside --out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { initEngine } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { packImageFolder } from '../../src/data/recordio.js';
import { exportCompactMae } from '../../src/deploy/load-mae.js';
import { maeProvenance } from '../../src/loaders/provenance.js';
import { reconstructDataset } from '../../src/protect/reconstruct-dataset.js';
import {
  checkAttackerIndependence,
  findIrmTeacherRef,
  modelFingerprint,
} from '../../src/protect/privacy-audit.js';
import { saveCheckpoint } from '../../src/data/checkpoint.js';
import { DEFAULT_TRAIN_MAE, trainMae } from '../../src/train/pretrain-mae.js';
import { tf } from '../../src/engine/backend.js';
import { makeDataset, tinyFaceNet, TINY_TEST } from '../mae/helpers.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-prov-'));
let data = '';
let run = '';
let teacher = '';

beforeAll(async () => {
  await initEngine();
  data = await makeDataset();
  const dir = tmp();
  // the "teacher" is any model file: only its bytes matter for the fingerprint
  teacher = path.join(dir, 'teacher.onnx');
  fs.writeFileSync(teacher, 'teacher weights v1');
  run = path.join(dir, 'run');
  await trainMae(
    {
      ...DEFAULT_TRAIN_MAE,
      data,
      out: run,
      model: { ...TINY_TEST, preset: null },
      steps: 1,
      epochs: null,
      batchSize: 4,
      sampleEvery: 0,
      irm: { ...DEFAULT_TRAIN_MAE.irm, teacher },
    },
    { loadTeacher: async () => tinyFaceNet(32, 8, createRng(3)) },
  );
});

describe('model fingerprints by content', () => {
  it('a copied run folder is the same model; other weights are not', async () => {
    const a = path.join(tmp(), 'fr-run');
    const w = tf.tensor1d([1, 2, 3]);
    await saveCheckpoint(a, { step: 1, weights: { w } });
    const b = path.join(tmp(), 'copy');
    fs.cpSync(a, b, { recursive: true });
    expect(modelFingerprint(b)).toBe(modelFingerprint(a));
    expect(() => checkAttackerIndependence(b, a)).toThrow(/is the IRM teacher/);
    const c = path.join(tmp(), 'other');
    const v = tf.tensor1d([1, 2, 4]);
    await saveCheckpoint(c, { step: 1, weights: { w: v } });
    expect(modelFingerprint(c)).not.toBe(modelFingerprint(a));
    w.dispose();
    v.dispose();
  });
});

describe('reconstruct provenance', () => {
  it('records model and teacher hashes; privacy finds them from OUT and OUT/images, even for a moved teacher', async () => {
    const out = path.join(tmp(), 'rec');
    await reconstructDataset({ model: run, data, out });
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    const fp = modelFingerprint(teacher);
    expect(cfg.config.provenance).toMatchObject({
      modelFingerprint: modelFingerprint(run),
      irmTeacher: teacher,
      irmTeacherFingerprint: fp,
    });
    for (const dir of [out, path.join(out, 'images')])
      expect(findIrmTeacherRef(dir)).toEqual({ spec: teacher, fingerprint: fp });

    // the teacher copied elsewhere and the original gone: still recognised by its recorded hash
    const copy = path.join(tmp(), 'renamed.onnx');
    fs.copyFileSync(teacher, copy);
    const moved = `${teacher}.moved`;
    fs.renameSync(teacher, moved);
    try {
      expect(() => checkAttackerIndependence(copy, findIrmTeacherRef(path.join(out, 'images')))).toThrow(
        /is the IRM teacher/,
      );
      // and through the CLI, before any embedding
      await expect(
        buildProgram()
          .exitOverride()
          .parseAsync([
            'node',
            'facemae',
            '--quiet',
            'privacy',
            '--original',
            data,
            '--protected',
            path.join(out, 'images'),
            '--attacker',
            copy,
          ]),
      ).rejects.toThrow(/is the IRM teacher/);
    } finally {
      fs.renameSync(moved, teacher);
    }
  });

  it('a compact export carries the teacher, so its reconstructions do too', async () => {
    const compact = path.join(tmp(), 'compact');
    await exportCompactMae(run, compact);
    const out = path.join(tmp(), 'rec');
    await reconstructDataset({ model: compact, data, out });
    expect(findIrmTeacherRef(path.join(out, 'images'))?.fingerprint).toBe(modelFingerprint(teacher));
  });
});

describe('the shipped reconstructors', () => {
  const asset = (name: string) => path.resolve(import.meta.dirname, '../../assets/models', name);
  it('the first default records its IRM teacher (from the config.json beside it) in its provenance', () => {
    const p = maeProvenance(asset('facemae-tiny-v1'));
    expect(p.irmTeacher).toBe('faceplugin');
    expect(p.irmTeacherFingerprint).toBe(modelFingerprint('faceplugin'));
  });

  it('the default (chosen on the validation split: trained without IRM) records none', () => {
    const p = maeProvenance(asset('facemae-tiny'));
    expect(p.irmTeacher).toBeNull();
    expect(p.irmTeacherFingerprint).toBeNull();
  });
});

describe('reconstruct from a hostile .rec', () => {
  it('a .names line with ".." is refused naming the record; nothing is written outside --out', async () => {
    const prefix = path.join(tmp(), 'train');
    await packImageFolder(data, prefix);
    fs.writeFileSync(`${prefix}.names`, '../../../../escaped-rec\nid1\nid2\n');
    const base = tmp();
    const out = path.join(base, 'a', 'b', 'out');
    await expect(reconstructDataset({ model: run, data: `${prefix}.rec`, out })).rejects.toThrow(
      new RegExp(`${prefix}\\.names:1: name "\\.\\./\\.\\./\\.\\./\\.\\./escaped-rec" is not a plain`),
    );
    expect(fs.existsSync(path.join(base, 'escaped-rec'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'manifest.jsonl'))).toBe(false);
  });
});
