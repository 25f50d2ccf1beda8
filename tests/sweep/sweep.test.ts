import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSweep } from '../../src/sweep/sweep.js';
import { fakeDeps, smallDeploy, tinySweepConfig } from './fakes.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-sweep-'));

describe('runSweep with fake training steps', () => {
  it('runs every step, writes the report, and a re-run redoes only what changed', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const out = path.join(work, 'run');
    const cfg = tinySweepConfig(root, deploy);
    const calls: string[] = [];
    const r = await runSweep(cfg, { out, deps: fakeDeps(calls) });
    expect(fs.existsSync(r.report)).toBe(true);
    expect(fs.existsSync(path.join(out, 'report', 'grid.png'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'config.json'))).toBe(true);
    expect([...r.outcomes.values()].filter((o) => o.status !== 'done')).toEqual([]);
    const rows = Object.fromEntries(r.data.rows.map((x) => [x.id, x]));
    expect(Object.keys(rows)).toEqual([
      'original',
      'facemae-r0.5',
      'facemae-r0.75',
      'mask-0.75',
      'blur-4',
      'pixelate-16',
      'noise-40',
    ]);
    // The originals as probes find themselves; protections lower the attack.
    expect(rows.original!.privacy!.instanceTop1).toBe(1);
    expect(rows['pixelate-16']!.privacy!.meanCosineToSource).toBeLessThan(
      rows.original!.privacy!.meanCosineToSource,
    );
    for (const row of r.data.rows) {
      expect(row.status).toBe('ok');
      expect(row.utility['lfw:fake']!.accuracy).toBeGreaterThan(0.5);
    }
    expect(r.data.teacher).toBe(path.join(out, 'steps', 'teacher'));
    const html = fs.readFileSync(r.report, 'utf8');
    expect(html).toContain('FaceMAE, mask ratio 0.75');
    expect(html).toContain('<svg');

    // Re-run: everything cached. Then change one baseline: only its steps (and the grid) run again.
    const calls2: string[] = [];
    const r2 = await runSweep(cfg, { out, deps: fakeDeps(calls2) });
    expect(calls2.filter((c) => c !== 'createEmbedder')).toEqual([]);
    expect([...r2.outcomes.values()].every((o) => o.status === 'cached')).toBe(true);
    const cfg3 = {
      ...cfg,
      baselines: cfg.baselines.map((b) => (b.method === 'noise' ? { ...b, strength: 10 } : b)),
    };
    const r3 = await runSweep(cfg3, { out, deps: fakeDeps([]) });
    const ran = [...r3.outcomes.values()].filter((o) => o.status === 'done').map((o) => o.id);
    expect(ran.sort()).toEqual(['fr-noise-10', 'grids', 'noise-10', 'privacy-noise-10', 'verify-noise-10']);
  });

  it('turns a missing area into "not available" rows instead of failing the sweep', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const cfg = {
      ...tinySweepConfig(root, deploy),
      teacher: 'faceplugin',
      attacker: '/elsewhere/attacker.onnx',
      maskRatios: [0.75],
      baselines: [],
    };
    const r = await runSweep(cfg, {
      out: path.join(work, 'run'),
      deps: fakeDeps([], { noRecognizer: true }),
    });
    for (const row of r.data.rows) {
      expect(row.privacy).toBeDefined();
      expect(row.status).toBe('partial');
      expect(row.notes.join(' ')).toMatch(/utility not available .*not available: trainFaceRecognizer/);
    }
    expect(fs.readFileSync(r.report, 'utf8')).toContain('not available: trainFaceRecognizer');
  });

  it('uses a pretrained FaceMAE when its folder exists: no teacher or MAE training, teacher read from its config', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const pre = path.join(work, 'facemae-tiny');
    fs.mkdirSync(pre);
    fs.writeFileSync(
      path.join(pre, 'config.json'),
      JSON.stringify({ config: { irm: { teacher: 'faceplugin' } } }),
    );
    const calls: string[] = [];
    const cfg = {
      ...tinySweepConfig(root, deploy),
      mae: { pretrained: pre, train: {} },
      maskRatios: [0.75],
      baselines: [],
    };
    const r = await runSweep(cfg, { out: path.join(work, 'run'), deps: fakeDeps(calls) });
    expect(r.outcomes.has('teacher')).toBe(false);
    expect(calls).not.toContain('trainMae');
    expect(r.outcomes.get('mae')?.result).toMatchObject({
      run: pre,
      pretrained: true,
      teacher: 'faceplugin',
    });
    expect(r.outcomes.get('privacy-facemae-r0.75')?.error).toMatch(
      /attacker \(faceplugin\) is the IRM teacher \(faceplugin\)/,
    );
    expect(r.data.notes.join(' ')).toMatch(/pretrained run/);
  });

  it('refuses to attack FaceMAE with its own IRM teacher (the row says why)', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const cfg = {
      ...tinySweepConfig(root, deploy),
      teacher: 'faceplugin',
      attacker: 'faceplugin',
      maskRatios: [0.75],
      baselines: [],
    };
    const r = await runSweep(cfg, { out: path.join(work, 'run'), deps: fakeDeps([]) });
    expect(r.outcomes.get('privacy-facemae-r0.75')?.status).toBe('failed');
    expect(r.outcomes.get('privacy-facemae-r0.75')?.error).toMatch(/is the IRM teacher/);
    expect(r.outcomes.get('privacy-original')?.status).toBe('done');
  });
});
