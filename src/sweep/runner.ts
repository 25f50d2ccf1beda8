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
import { readJson, writeJsonAtomic } from '../core/fs.js';

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
  /** Always runs in this process, even with several jobs (cheap steps, or ones sharing in-process state). */
  local?: boolean;
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
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function hashOf(v: unknown): string {
  return crypto.createHash('sha256').update(stableStringify(v)).digest('hex').slice(0, 16);
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface RunStepsOptions {
  dir: string;
  onEvent?: (e: RunnerEvent) => void;
  stopOnError?: boolean;
  /**
   * Steps running at once (default 1: one after another, in the given order). Above 1, steps run
   * side by side through `execute`; `local` steps (or all, without `execute`) still run in this
   * process, one at a time.
   */
  jobs?: number;
  /**
   * Runs one step elsewhere (e.g. `facemae sweep --only ID` in a child process) and resolves when
   * it has ended; success is the step's done-marker with the expected hash, written there.
   */
  execute?: (step: Step) => Promise<void>;
  /**
   * Runs just this step: the steps it depends on must be done already (their markers are read),
   * the others are left alone. What `execute`'s child process runs.
   */
  only?: string;
}

/** The ids `id` depends on, directly or not. */
function ancestorsOf(steps: Step[], id: string): Set<string> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  if (!byId.has(id)) throw new Error(`no step "${id}" in this sweep`);
  const out = new Set<string>();
  const visit = (x: string) => {
    for (const d of byId.get(x)?.deps ?? []) {
      if (out.has(d)) continue;
      out.add(d);
      visit(d);
    }
  };
  visit(id);
  return out;
}

/** A done-marker (or a started-marker: its hash alone). */
type Marker = { hash?: string; result?: SweepStepResult; seconds?: number };

function readMarker(marker: string): Marker | null {
  try {
    return readJson<Marker>(marker);
  } catch {
    return null; // missing or unreadable: the step is (re)done
  }
}

/**
 * Runs `steps` (dependencies must come first). A failed step does not stop the others; its
 * dependants are skipped. Returns every step's outcome.
 *
 * Scheduling is a list scheduler written here rather than a promise pool (p-limit and the like
 * start work in submission order): whenever a slot is free, the earliest step in the list whose
 * dependencies have ended starts, and no two in-process steps overlap. With one job that is
 * exactly the list order.
 */
export async function runSteps(steps: Step[], opts: RunStepsOptions): Promise<Map<string, StepOutcome>> {
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
  const jobs = Math.max(1, Math.floor(opts.jobs ?? 1));
  const needed = opts.only ? ancestorsOf(steps, opts.only) : null;
  const list = needed ? steps.filter((s) => s.id === opts.only || needed.has(s.id)) : steps;
  const remote = (s: Step) => jobs > 1 && opts.execute !== undefined && !s.local;

  const runOne = async (step: Step, index: number): Promise<void> => {
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
      return;
    }
    if (!step.always) {
      const m = fs.existsSync(marker) ? readMarker(marker) : null;
      if (m && m.hash === hash && m.result) {
        finish({ id: step.id, status: 'cached', hash, result: m.result, seconds: m.seconds });
        return;
      }
    }
    if (needed?.has(step.id)) {
      finish({
        id: step.id,
        status: 'failed',
        hash,
        error: `"${opts.only}" cannot run alone: the step it needs, "${step.id}", is not done (run the whole sweep)`,
      });
      return;
    }
    opts.onEvent?.({ type: 'start', id: step.id, index, total: list.length });
    if (remote(step)) {
      // the child process does the marker/out-folder/resume work itself, through this function
      let error: string | undefined;
      try {
        await opts.execute!(step);
      } catch (e) {
        error = messageOf(e);
      }
      const m = readMarker(marker);
      if (m && m.hash === hash && m.result)
        finish({ id: step.id, status: 'done', hash, result: m.result, seconds: m.seconds });
      else finish({ id: step.id, status: 'failed', hash, error: error ?? 'ended without its done-marker' });
      return;
    }
    // Drop the stale marker first: a kill during the redo must not leave an old marker behind.
    fs.rmSync(marker, { force: true });
    const started = path.join(opts.dir, `${step.id}.started.json`);
    let resume = false;
    if (step.resumable && fs.existsSync(started) && fs.existsSync(outDir))
      resume = readMarker(started)?.hash === hash;
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
      finish({ id: step.id, status: 'failed', hash, error: messageOf(e) });
      if (opts.stopOnError) throw e;
    }
  };

  const pending = list.map((step, index) => ({ step, index }));
  const running = new Map<string, Promise<void>>();
  let localBusy = false;
  let firstError: unknown;
  while (pending.length > 0 || running.size > 0) {
    for (let i = 0; i < pending.length && running.size < jobs && firstError === undefined;) {
      const { step, index } = pending[i]!;
      const ready = (step.deps ?? []).every((d) => outcomes.has(d));
      const isLocal = !remote(step);
      if (!ready || (isLocal && localBusy)) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      if (isLocal) localBusy = true;
      const p = runOne(step, index)
        .catch((e) => {
          firstError ??= e;
        })
        .finally(() => {
          if (isLocal) localBusy = false;
          running.delete(step.id);
        });
      running.set(step.id, p);
    }
    if (running.size === 0) break; // stopped by an error (or nothing left that can start)
    await Promise.race(running.values());
  }
  if (firstError !== undefined) throw firstError;
  return outcomes;
}
