import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSteps, type Step } from '../../src/sweep/runner.js';

function fakeSteps(log: string[], opts: { failAt?: string; cfg?: Record<string, unknown> } = {}): Step[] {
  const mk = (id: string, deps: string[] = []): Step => ({
    id,
    deps,
    config: opts.cfg?.[id] ?? { id },
    async run({ outDir, deps: d }) {
      log.push(id);
      if (opts.failAt === id) throw new Error(`killed during ${id}`);
      fs.writeFileSync(path.join(outDir, 'out.txt'), id);
      const sum = Object.values(d).reduce((a, r) => a + (r.value as number), 0);
      return { value: sum + 1 };
    },
  });
  return [mk('a'), mk('b', ['a']), mk('c', ['b']), mk('d')];
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-runner-'));

describe('runSteps', () => {
  it('after a simulated kill, a re-run continues without redoing finished steps', async () => {
    const dir = tmp();
    const log1: string[] = [];
    await expect(runSteps(fakeSteps(log1, { failAt: 'b' }), { dir, stopOnError: true })).rejects.toThrow(
      /killed during b/,
    );
    expect(log1).toEqual(['a', 'b']);
    expect(fs.existsSync(path.join(dir, 'a.done.json'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'b.done.json'))).toBe(false);

    const log2: string[] = [];
    const out = await runSteps(fakeSteps(log2), { dir });
    expect(log2).toEqual(['b', 'c', 'd']);
    expect(out.get('a')?.status).toBe('cached');
    expect(out.get('c')?.result).toEqual({ value: 3 });
    expect(out.get('c')?.seconds).toBeGreaterThanOrEqual(0);

    const log3: string[] = [];
    const again = await runSteps(fakeSteps(log3), { dir });
    expect(log3).toEqual([]);
    expect([...again.values()].every((o) => o.status === 'cached')).toBe(true);
    expect(again.get('c')?.seconds).toBe(out.get('c')?.seconds);
  });

  it('redoes a step whose config changed, and its dependants, but not unrelated steps', async () => {
    const dir = tmp();
    await runSteps(fakeSteps([]), { dir });
    const log: string[] = [];
    await runSteps(fakeSteps(log, { cfg: { b: { id: 'b', strength: 2 } } }), { dir });
    expect(log).toEqual(['b', 'c']);
    expect(fs.readFileSync(path.join(dir, 'c', 'out.txt'), 'utf8')).toBe('c');
  });

  it('without stopOnError, a failure skips only its dependants', async () => {
    const dir = tmp();
    const log: string[] = [];
    const out = await runSteps(fakeSteps(log, { failAt: 'a' }), { dir });
    expect(log).toEqual(['a', 'd']);
    expect(out.get('a')?.status).toBe('failed');
    expect(out.get('a')?.error).toMatch(/killed during a/);
    expect(out.get('b')?.status).toBe('skipped');
    expect(out.get('c')?.error).toMatch(/needs "b"/);
    expect(out.get('d')?.status).toBe('done');
  });

  it('lets a resumable step continue the outputs of an interrupted run with the same config', async () => {
    const dir = tmp();
    let attempt = 0;
    const seen: Array<{ resume: boolean; files: string[] }> = [];
    const step = (cfg: unknown): Step => ({
      id: 'train',
      config: cfg,
      resumable: true,
      async run({ outDir, resume }) {
        seen.push({ resume, files: fs.readdirSync(outDir) });
        fs.writeFileSync(path.join(outDir, 'ckpt'), String(++attempt));
        if (attempt === 1) throw new Error('killed');
        return { ok: true };
      },
    });
    await runSteps([step({ lr: 1 })], { dir });
    await runSteps([step({ lr: 1 })], { dir });
    expect(seen).toEqual([
      { resume: false, files: [] },
      { resume: true, files: ['ckpt'] },
    ]);
    // A changed config starts clean.
    await runSteps([step({ lr: 2 })], { dir });
    expect(seen[2]).toEqual({ resume: false, files: [] });
  });

  it('refuses a dependency on a later or unknown step', async () => {
    const steps: Step[] = [{ id: 'x', deps: ['y'], config: {}, run: async () => ({}) }];
    await expect(runSteps(steps, { dir: tmp() })).rejects.toThrow(/depends on "y"/);
  });
});
