/**
 * A small cached, resumable step runner (the make/DVC idea, kept to what the sweep needs).
 * Each step writes its outputs under `<dir>/<id>/` and, last, a done-marker `<dir>/<id>.done.json`
 * holding the hash of its config and of its dependencies' hashes. A re-run skips a step whose
 * marker matches, redoes one whose config (or an upstream step) changed, and continues after a
 * kill: a step without a marker is simply run again.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../core/fs.js';

export type SweepStepResult = Record<string, unknown>;

export interface StepContext {
  /** The step's own output folder (created before run; emptied when the step is redone). */
  outDir: string;
  /** True when a `resumable` step finds the outputs of an interrupted run with the same config. */
  resume: boolean;
  /** Results of the steps named in `deps`, by id. */
  deps: Record<string, SweepStepResult>;
}

export interface Step {
  id: string;
  /** JSON-serialisable inputs/config: changing it invalidates this step and all its dependants. */
  config: unknown;
  deps?: string[];
  /** `always` steps (e.g. the report) run on every invocation. */
  always?: boolean;
  /** Keep the outputs of an interrupted run with the same config (e.g. a training checkpoint) instead of emptying them. */
  resumable?: boolean;
  run(ctx: StepContext): Promise<SweepStepResult>;
}

export type StepStatus = 'cached' | 'done' | 'failed' | 'skipped';

export interface StepOutcome {
  id: string;
  status: StepStatus;
  result?: SweepStepResult;
  error?: string;
  hash: string;
  /** Wall time of the run that produced the result (also for cached steps). */
  seconds?: number;
}

export type RunnerEvent =
  | { type: 'start'; id: string; index: number; total: number }
  | { type: 'end'; outcome: StepOutcome; seconds: number };

/** Stable JSON (sorted keys), so the hash does not depend on key order. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function hashOf(v: unknown): string {
  return crypto.createHash('sha256').update(stableStringify(v)).digest('hex').slice(0, 16);
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Runs `steps` in the given order (dependencies must come first). A failed step does not stop
 * the others; its dependants are skipped. Returns every step's outcome.
 */
export async function runSteps(
  steps: Step[],
  opts: { dir: string; onEvent?: (e: RunnerEvent) => void; stopOnError?: boolean },
): Promise<Map<string, StepOutcome>> {
  const outcomes = new Map<string, StepOutcome>();
  fs.mkdirSync(opts.dir, { recursive: true });
  const seen = new Set<string>();
  for (const s of steps) {
    if (!SAFE_ID.test(s.id)) throw new Error(`step id "${s.id}" must be a plain file name`);
    if (seen.has(s.id)) throw new Error(`duplicate step id "${s.id}"`);
    for (const d of s.deps ?? [])
      if (!seen.has(d)) throw new Error(`step "${s.id}" depends on "${d}", which is not an earlier step`);
    seen.add(s.id);
  }
  for (const [index, step] of steps.entries()) {
    const deps = step.deps ?? [];
    const hash = hashOf({ config: step.config, deps: deps.map((d) => outcomes.get(d)?.hash) });
    const marker = path.join(opts.dir, `${step.id}.done.json`);
    const outDir = path.join(opts.dir, step.id);
    const t0 = Date.now();
    const finish = (o: StepOutcome) => {
      outcomes.set(step.id, o);
      opts.onEvent?.({ type: 'end', outcome: o, seconds: (Date.now() - t0) / 1000 });
    };
    const bad = deps.find(
      (d) => outcomes.get(d)?.status === 'failed' || outcomes.get(d)?.status === 'skipped',
    );
    if (bad) {
      const cause = outcomes.get(bad)?.error;
      finish({
        id: step.id,
        status: 'skipped',
        hash,
        error: `needs "${bad}", which did not finish${cause ? `: ${cause}` : ''}`,
      });
      continue;
    }
    if (!step.always && fs.existsSync(marker)) {
      try {
        const m = JSON.parse(fs.readFileSync(marker, 'utf8')) as {
          hash?: string;
          result?: SweepStepResult;
          seconds?: number;
        };
        if (m.hash === hash && m.result) {
          finish({ id: step.id, status: 'cached', hash, result: m.result, seconds: m.seconds });
          continue;
        }
      } catch {
        /* an unreadable marker means the step is redone */
      }
    }
    opts.onEvent?.({ type: 'start', id: step.id, index, total: steps.length });
    // Drop the stale marker first: a kill during the redo must not leave an old marker behind.
    fs.rmSync(marker, { force: true });
    const started = path.join(opts.dir, `${step.id}.started.json`);
    let resume = false;
    if (step.resumable && fs.existsSync(started) && fs.existsSync(outDir)) {
      try {
        resume = (JSON.parse(fs.readFileSync(started, 'utf8')) as { hash?: string }).hash === hash;
      } catch {
        resume = false;
      }
    }
    if (!resume) fs.rmSync(outDir, { recursive: true, force: true });
    fs.mkdirSync(outDir, { recursive: true });
    writeJsonAtomic(started, { id: step.id, hash, startedAt: new Date().toISOString() });
    const depResults: Record<string, SweepStepResult> = {};
    for (const d of deps) depResults[d] = outcomes.get(d)?.result ?? {};
    try {
      const result = await step.run({ outDir, deps: depResults, resume });
      const seconds = (Date.now() - t0) / 1000;
      writeJsonAtomic(marker, {
        id: step.id,
        hash,
        config: step.config,
        finishedAt: new Date().toISOString(),
        seconds,
        result,
      });
      fs.rmSync(started, { force: true });
      finish({ id: step.id, status: 'done', hash, result, seconds });
    } catch (e) {
      finish({ id: step.id, status: 'failed', hash, error: (e as Error).message ?? String(e) });
      if (opts.stopOnError) throw e;
    }
  }
  return outcomes;
}
