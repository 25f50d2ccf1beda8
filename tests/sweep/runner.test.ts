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

describe('runSteps with several jobs', () => {
  /** Steps that take `ms` each and record how many ran at once; `local` ones are marked so. */
  function timedSteps(
    active: { now: number; max: number; localNow: number; localMax: number },
    order: string[],
  ) {
    const mk = (id: string, deps: string[] = [], local = false): Step => ({
      id,
      deps,
      local,
      config: { id },
      async run({ deps: d }) {
        active.now++;
        active.max = Math.max(active.max, active.now);
        if (local) active.localMax = Math.max(active.localMax, ++active.localNow);
        order.push(`start ${id}`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`end ${id}`);
        active.now--;
        if (local) active.localNow--;
        return { value: Object.values(d).reduce((a, r) => a + (r.value as number), 0) + 1 };
      },
    });
    // split -> x, y, z (each -> its own fr) ; report (local) after everything
    return [
      mk('split', [], true),
      mk('x', ['split']),
      mk('y', ['split']),
      mk('z', ['split']),
      mk('px', ['x'], true),
      mk('py', ['y'], true),
      mk('frx', ['x']),
      mk('fry', ['y']),
      mk('frz', ['z']),
      mk('report', ['px', 'py', 'frx', 'fry', 'frz'], true),
    ];
  }

  it('runs up to `jobs` steps at once through execute, in dependency order, with the sequential results', async () => {
    const dir = tmp();
    const active = { now: 0, max: 0, localNow: 0, localMax: 0 };
    const order: string[] = [];
    const steps = timedSteps(active, order);
    const executed: string[] = [];
    const out = await runSteps(steps, {
      dir,
      jobs: 2,
      // what the sweep's child process does: this runner with `only`
      execute: async (s) => {
        executed.push(s.id);
        const r = await runSteps(timedSteps(active, order), { dir, only: s.id });
        if (r.get(s.id)?.status !== 'done') throw new Error(`child failed: ${r.get(s.id)?.error}`);
      },
    });
    expect([...out.values()].every((o) => o.status === 'done')).toBe(true);
    expect(active.max).toBe(2);
    expect(active.localMax).toBe(1);
    expect(executed.sort()).toEqual(['frx', 'fry', 'frz', 'x', 'y', 'z']);
    for (const [a, b] of [
      ['split', 'x'],
      ['x', 'frx'],
      ['y', 'py'],
      ['frz', 'report'],
      ['py', 'report'],
    ]) {
      expect(order.indexOf(`end ${a}`)).toBeLessThan(order.indexOf(`start ${b}`));
    }
    const seq = await runSteps(timedSteps(active, []), { dir: tmp() });
    expect(out.get('report')?.result).toEqual(seq.get('report')?.result);
    // everything is cached the second time, whatever the job count
    const again = await runSteps(timedSteps(active, []), { dir, jobs: 2, execute: async () => {} });
    expect([...again.values()].every((o) => o.status === 'cached')).toBe(true);
  });

  it('a failed child fails its step (and skips the dependants) but not the others', async () => {
    const dir = tmp();
    const active = { now: 0, max: 0, localNow: 0, localMax: 0 };
    const out = await runSteps(timedSteps(active, []), {
      dir,
      jobs: 2,
      execute: async (s) => {
        if (s.id === 'y') throw new Error('child exited with code 1');
        await runSteps(timedSteps(active, []), { dir, only: s.id });
      },
    });
    expect(out.get('y')).toMatchObject({ status: 'failed', error: 'child exited with code 1' });
    expect(out.get('fry')?.status).toBe('skipped');
    expect(out.get('frz')?.status).toBe('done');
    expect(out.get('report')?.status).toBe('skipped');
  });

  it('`only` runs one step and refuses when a step it needs is not done', async () => {
    const dir = tmp();
    const order: string[] = [];
    const active = { now: 0, max: 0, localNow: 0, localMax: 0 };
    const first = await runSteps(timedSteps(active, order), { dir, only: 'x' });
    expect(first.get('split')).toMatchObject({ status: 'failed' });
    expect(first.get('split')?.error).toMatch(
      /"x" cannot run alone: the step it needs, "split", is not done/,
    );
    expect(first.get('x')?.status).toBe('skipped');
    expect(order).toEqual([]);
    await runSteps(timedSteps(active, order), { dir, only: 'split' });
    const r = await runSteps(timedSteps(active, order), { dir, only: 'x' });
    expect(r.get('x')?.status).toBe('done');
    expect([...r.keys()].sort()).toEqual(['split', 'x']);
    expect(order).toEqual(['start split', 'end split', 'start x', 'end x']);
  });
});
