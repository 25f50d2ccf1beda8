import { execFileSync, spawnSync } from 'node:child_process';
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
