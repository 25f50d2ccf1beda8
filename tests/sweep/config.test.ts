import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_CONFIG, loadSweepConfig } from '../../src/sweep/cli-run.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('sweep configs', () => {
  it('configs/demo.json resolves to the built-in sample, from any working directory', () => {
    const cfg = loadSweepConfig(DEMO_CONFIG);
    expect(cfg.train).toBe(path.join(root, 'assets/sample/train'));
    expect(cfg.deploy).toBe(path.join(root, 'assets/sample/deploy'));
    expect(cfg.verify).toEqual([`lfw:${path.join(root, 'assets/sample/verify')}`]);
    expect(cfg.attackers).toEqual(['faceplugin', 'suite:mobileface']);
    // FaceMAE in the demo: the shipped MSE-pretrained model fine-tuned on A with IRM
    expect(cfg.mae.train.init).toBe(path.join(root, 'assets/models/facemae-tiny'));
    expect(cfg.teacher).toBe('train');
    for (const p of [cfg.train, cfg.deploy as string, cfg.mae.train.init as string])
      expect(fs.existsSync(p)).toBe(true);
  });

  it('configs/full.json names ../shared/data and excludes the training identities from B', () => {
    const cfg = loadSweepConfig(path.join(root, 'configs/full.json'));
    expect(cfg.train).toBe(path.resolve(root, '../shared/data/glint-24ids-112/images'));
    expect(cfg.verify[0]).toBe(`lfw:${path.resolve(root, '../shared/data/lfw-aligned-112')}`);
    expect(typeof cfg.deploy === 'object' && cfg.deploy.exclude?.includes('Tom_Hanks')).toBe(true);
  });

  it('--set overrides win and unknown keys are refused, naming them', () => {
    expect(loadSweepConfig(DEMO_CONFIG, { maskRatios: [0.9] }).maskRatios).toEqual([0.9]);
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-cfg-')), 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ train: 'a', deploy: 'b', maskRatio: [0.5] }));
    expect(() => loadSweepConfig(bad)).toThrow(/unknown key "maskRatio" in .*bad\.json/);
    fs.writeFileSync(bad, JSON.stringify({ train: 'a', deploy: 'b', maskRatios: [1.5] }));
    expect(() => loadSweepConfig(bad)).toThrow(/mask ratio 1.5 must be in \(0, 1\)/);
    expect(() => loadSweepConfig(DEMO_CONFIG, { pasteBack: [1, 1.5] })).toThrow(
      /pasteBack must be a number in \[0, 1\].*got 1.5/,
    );
    expect(() => loadSweepConfig(DEMO_CONFIG, { pasteBack: [] })).toThrow(
      /non-empty list of distinct weights/,
    );
    // the training sections are checked against their trainers' keys, like train-mae --config
    fs.writeFileSync(bad, JSON.stringify({ train: 'a', deploy: 'b', mae: { train: { lrr: 1 } } }));
    expect(() => loadSweepConfig(bad)).toThrow(/unknown key "mae\.train\.lrr" in .*bad\.json/);
    fs.writeFileSync(bad, JSON.stringify({ train: 'a', deploy: 'b', recognizer: { margin: { m4: 1 } } }));
    expect(() => loadSweepConfig(bad)).toThrow(/unknown key "recognizer\.margin\.m4"/);
    expect(() => loadSweepConfig(DEMO_CONFIG, { teacherTrain: { epoch: 2 } })).toThrow(
      /unknown key "teacherTrain\.epoch" in --set/,
    );
    // the sweep sets data, out and seed of its training runs itself
    expect(() => loadSweepConfig(DEMO_CONFIG, { mae: { train: { data: 'x' } } })).toThrow(
      /unknown key "mae\.train\.data"/,
    );
    expect(loadSweepConfig(DEMO_CONFIG, { mae: { train: { lr: 0.5 } } }).mae.train).toMatchObject({
      lr: 0.5,
      steps: 20,
    });
  });
});
