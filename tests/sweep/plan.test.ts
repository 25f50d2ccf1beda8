/**
 * A resumed sweep reuses a finished step only when its id and hash are unchanged: the plans of
 * a few configs (tests/sweep/plan-scenarios.ts) are pinned as the sweep made them before the
 * typed plan (tests/fixtures/sweep-plans.json), so a changed step id, dependency or step config
 * fails here rather than redoing days of a real sweep.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SweepConfig } from '../../src/sweep/config.js';
import { planSweep, runnerSteps } from '../../src/sweep/plan.js';
import { hashOf } from '../../src/sweep/runner.js';
import { fakeDeps } from './fakes.js';
import { SCENARIOS } from './plan-scenarios.js';

const root = path.resolve(import.meta.dirname, '../..');
const pinned = JSON.parse(fs.readFileSync(path.join(root, 'tests/fixtures/sweep-plans.json'), 'utf8')) as {
  plans: Record<string, string[][]>;
};

/** Each step as [id, hash, ...deps], the hash as the runner computes it (config and the deps' hashes). */
function planOf(name: string, over: Partial<SweepConfig> = {}): string[][] {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-plan-'));
  const plan = planSweep(
    { ...SCENARIOS[name]!, ...over },
    {
      out,
      deps: fakeDeps([]),
      log: () => {},
      progress: () => () => {},
    },
  );
  const hashes = new Map<string, string>();
  return runnerSteps(plan).map((s) => {
    const deps = s.deps ?? [];
    const hash = hashOf({ config: s.config, deps: deps.map((d) => hashes.get(d)) });
    hashes.set(s.id, hash);
    return [s.id, hash, ...deps];
  });
}

describe('the sweep plan', () => {
  it.each(Object.keys(pinned.plans))('%s: the same step ids, dependencies and config hashes', (name) => {
    expect(planOf(name)).toEqual(pinned.plans[name]);
  });
});

describe('"utility" naming rows', () => {
  it('trains and verifies only the rows named, with the steps (and hashes) of the full plan', () => {
    const all = planOf('tiny');
    const named = planOf('tiny', { utility: ['facemae-r0.75', 'noise-40'] });
    const utilitySteps = (plan: string[][]) => plan.filter(([id]) => /^(fr|verify)-/.test(id!));
    expect(utilitySteps(named).map(([id]) => id)).toEqual([
      'fr-facemae-r0.75',
      'verify-facemae-r0.75',
      'fr-noise-40',
      'verify-noise-40',
    ]);
    // the same steps as when every row is trained, so a later run reuses them
    for (const step of utilitySteps(named)) expect(all).toContainEqual(step);
    // and nothing else changes
    const rest = (plan: string[][]) => plan.filter(([id]) => !/^(fr|verify|report|grids)/.test(id!));
    expect(rest(named)).toEqual(rest(all));
  });

  it('refuses an id that is not a row, naming it and the rows', () => {
    expect(() => planOf('tiny', { utility: ['facemae-r0.8'] })).toThrow(
      /"utility" names no row "facemae-r0.8"; the rows are original, facemae-r/,
    );
  });
});
