import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/facemae.js');

describe('facemae CLI', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
  }, 120_000);

  it('lists the verbs in --help', () => {
    const out = execFileSync('node', [bin, '--help'], { encoding: 'utf8' });
    for (const verb of [
      'demo',
      'train-mae',
      'reconstruct',
      'train-fr',
      'verify',
      'privacy',
      'distort',
      'sweep',
    ]) {
      expect(out).toContain(verb);
    }
  });

  it('exits non-zero with a one-line message and no stack on an unknown verb', () => {
    const r = spawnSync('node', [bin, 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe('facemae sweep --jobs and --only', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
  }, 120_000);

  it('runs the heavy steps in child processes, and a second run finds every step done', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-jobs-'));
    const deploy = path.join(work, 'deploy');
    const src = path.join(root, 'assets/sample/deploy');
    for (const id of fs.readdirSync(src).sort().slice(0, 4))
      fs.cpSync(path.join(src, id), path.join(deploy, id), { recursive: true });
    const cfg = path.join(work, 'sweep.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        name: 'jobs',
        train: path.join(root, 'assets/sample/train'),
        deploy,
        verify: [],
        teacher: 'faceplugin',
        attackers: ['mobileface'],
        mae: { pretrained: path.join(root, 'assets/models/facemae-tiny-v1-noirm') },
        maskRatios: [0.75],
        baselines: [
          { method: 'blur', strength: 4 },
          { method: 'noise', strength: 40 },
        ],
        utility: false,
        gridRows: 1,
      }),
    );
    const out = path.join(work, 'run');
    const sweep = (...extra: string[]) =>
      spawnSync('node', [bin, 'sweep', '--config', cfg, '--out', out, ...extra], { encoding: 'utf8' });
    // --only continues a sweep; it does not start one (and leaves no folder behind)
    const alone = sweep('--only', 'privacy-blur-4');
    expect(alone.status).not.toBe(0);
    expect(alone.stderr).toMatch(/--only runs one step of an existing sweep, and .*run holds none/);
    expect(fs.existsSync(out)).toBe(false);
    const r = sweep('--jobs', '2');
    expect(r.status, r.stderr).toBe(0);
    // the reconstruction and the baselines ran in children (their lines come back prefixed)
    for (const id of ['facemae-r0.75', 'blur-4', 'noise-40']) expect(r.stderr).toContain(`[${id}] `);
    expect(r.stderr).not.toContain('[privacy-blur-4] '); // the attack stays in the parent
    const ev = JSON.parse(fs.readFileSync(path.join(out, 'report/evidence.json'), 'utf8'));
    expect(ev.rows.map((x: { method: string }) => x.method)).toEqual([
      'original',
      'facemae',
      'blur',
      'noise',
    ]);
    const again = sweep('--jobs', '1', '--json');
    expect(again.status, again.stderr).toBe(0);
    const steps = JSON.parse(again.stdout).steps as { id: string; status: string }[];
    expect(steps.filter((s) => s.status !== 'cached').map((s) => s.id)).toEqual([]);
    expect(sweep('--jobs', '0').stderr).toMatch(/--jobs must be a whole number >= 1, got 0/);
  }, 180_000);
});
