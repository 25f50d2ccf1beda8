import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSweepConfig } from '../../src/sweep/config.js';
import { DEMO_CONFIG } from '../../src/sweep/sweep.js';

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
    expect(() => loadSweepConfig(bad)).toThrow(/maskRatios\[0\] in .*bad\.json must be < 1, got 1.5/);
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

  it('checks array elements and values, naming the field (no step "blur-undefined")', () => {
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-cfg-')), 'bad.json');
    const write = (v: object) => fs.writeFileSync(bad, JSON.stringify({ train: 'a', deploy: 'b', ...v }));
    write({ baselines: [{ method: 'blur', strenght: 4 }] });
    expect(() => loadSweepConfig(bad)).toThrow(/unknown key "baselines\[0\]\.strenght" in .*bad\.json/);
    write({ baselines: [{ method: 'smudge', strength: 4 }] });
    expect(() => loadSweepConfig(bad)).toThrow(
      /baselines\[0\]\.method in .*bad\.json must be one of mask, blur/,
    );
    write({ deploy: { dir: 'x', minImages: 1, maxIdentities: 2, maxImagesPerIdentity: 3, exlude: [] } });
    expect(() => loadSweepConfig(bad)).toThrow(/unknown key "deploy\.exlude"/);
    write({ parrot: { epochs: 0 } });
    expect(() => loadSweepConfig(bad)).toThrow(/parrot\.epochs in .*bad\.json must be > 0, got 0/);
    expect(() => loadSweepConfig(DEMO_CONFIG, { privacyImagesPerIdentity: 1.5 })).toThrow(
      /privacyImagesPerIdentity in --set must be an integer, got 1.5/,
    );
    expect(() => loadSweepConfig(DEMO_CONFIG, { mae: { train: { model: { preset: 'huge' } } } })).toThrow(
      /mae\.train\.model\.preset in --set must be one of tiny, small, base/,
    );
  });

  it('refuses the removed single "attacker" key, saying to use "attackers"', () => {
    expect(() => loadSweepConfig(DEMO_CONFIG, { attacker: 'mobileface' })).toThrow(
      /"attacker" in --set was removed: list the attacker\(s\) in "attackers", e\.g\. "attackers": \["mobileface"\]/,
    );
    for (const f of fs.readdirSync(path.join(root, 'configs')))
      expect(fs.readFileSync(path.join(root, 'configs', f), 'utf8')).not.toMatch(/"attacker"/);
  });

  it('every shipped config loads (schema, extends, paths)', () => {
    const names = fs.readdirSync(path.join(root, 'configs')).filter((f) => f.endsWith('.json'));
    expect(names).toContain('celeba-966-frontier-utility.json');
    for (const f of names) expect(() => loadSweepConfig(path.join(root, 'configs', f)), f).not.toThrow();
  });

  it('the configs that extend a base resolve to what they were before the split', () => {
    const golden = JSON.parse(
      fs.readFileSync(path.join(root, 'tests/fixtures/configs-resolved.json'), 'utf8'),
    ) as { configs: Record<string, unknown> };
    for (const [name, expected] of Object.entries(golden.configs)) {
      expect(JSON.parse(fs.readFileSync(path.join(root, 'configs', name), 'utf8'))).toHaveProperty('extends');
      const text = JSON.stringify(loadSweepConfig(path.join(root, 'configs', name)));
      const got = JSON.parse(
        text.split(root).join('<ROOT>').split(path.dirname(root)).join('<UP>'),
      ) as unknown;
      expect(got, name).toEqual(expected);
    }
  });
});
