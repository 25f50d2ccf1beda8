/**
 * The sweep end to end with the real library (no fakes): a teacher and a FaceMAE fine-tuning
 * trained for a few steps, reconstruction, a baseline, the attack by a bundled recognizer, a
 * recognizer trained on each version and verified on the built-in LFW pairs — all on the built-in
 * sample, sized to run in about a minute on two cores. It checks the wiring, not the numbers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSweepConfig } from '../../src/sweep/config.js';
import { defaultSweepDeps } from '../../src/sweep/integrations.js';
import { DEMO_CONFIG, runSweep } from '../../src/sweep/sweep.js';
import { smallDeploy } from './fakes.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('the sweep with real training, reconstruction and verification', () => {
  it('produces every row with privacy and utility, and the evidence file', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-e2e-'));
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const cfg = loadSweepConfig(DEMO_CONFIG, {
      deploy,
      attackers: ['mobileface'],
      teacherTrain: { steps: 2, epochs: null, batchSize: 8 },
      mae: { train: { steps: 2, batchSize: 8, checkpointEvery: 2 } },
      maskRatios: [0.75],
      baselines: [{ method: 'blur', strength: 4 }],
      // Below the sweep's 112: the recognizer trains and is verified at its own input size.
      recognizer: { steps: 2, epochs: null, batchSize: 8, inputSize: 64 },
      gridRows: 2,
    });
    const r = await runSweep(cfg, { out: path.join(work, 'run'), deps: defaultSweepDeps() });
    const bad = [...r.outcomes.values()].filter((o) => o.status !== 'done');
    expect(bad.map((o) => `${o.id}: ${o.error}`)).toEqual([]);
    expect(r.data.rows.map((x) => x.id)).toEqual(['original', 'facemae-r0.75', 'blur-4']);
    for (const row of r.data.rows) {
      expect(row.status).toBe('ok');
      expect(row.privacy!.identityTop1).toBeGreaterThanOrEqual(0);
      const u = Object.values(row.utility)[0]!;
      expect(u.pairCorrect).toHaveLength(200);
      expect(u.ci95![0]).toBeLessThanOrEqual(u.accuracy);
    }
    // The originals find themselves; FaceMAE's reconstructions are real files from the trained model.
    expect(r.data.rows[0]!.privacy!.instanceTop1).toBe(1);
    const rec = path.join(work, 'run', 'steps', 'facemae-r0.75', 'images');
    expect(fs.readdirSync(rec).length).toBe(fs.readdirSync(deploy).length);
    const frCfg = JSON.parse(
      fs.readFileSync(path.join(work, 'run', 'steps', 'fr-original', 'config.json'), 'utf8'),
    );
    expect(frCfg.config.inputSize).toBe(64);
    const ev = JSON.parse(fs.readFileSync(path.join(work, 'run', 'report', 'evidence.json'), 'utf8'));
    expect(ev.rows).toHaveLength(3);
    expect(ev.rows[1].lfw.ci95).toHaveLength(2);
    expect(ev.rows.map((x: { steps: number | null }) => x.steps)).toEqual([2, 2, 2]);
  }, 240_000);
});
