/**
 * A queue job is input from whoever can write to Redis, not an instruction: before a worker
 * touches a file, the job must have the exact shape the producer gives it (no extra keys,
 * integer indices, plain `<identity>/<image>` names), its folders must lie under the roots the
 * worker was started with, and it must be a shard of a run its producer registered, with the
 * same folders as that run's plan in `<out>/.queue/job.json`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkKnownKeys } from '../config/resolve.js';
import { FaceMaeError } from '../core/errors.js';
import { checkSafeName } from '../core/fs.js';
import { checkOutSeparate, realPathOf } from '../core/out-guard.js';
import { DISTORT_CONFIG_KEYS, validateDistortConfig } from '../protect/distort-dataset.js';
import { queueDir, type JobPlan, type QueueTask, type ShardJobData, type ShardPlan } from './shards.js';

/** The folders a worker may read (data, model) and write (out), from its command line. */
export interface WorkerRoots {
  data: readonly string[];
  model: readonly string[];
  out: readonly string[];
}

const bad = (what: string, v: unknown): never => {
  let shown: string;
  try {
    shown = JSON.stringify(v)?.slice(0, 200) ?? String(v);
  } catch {
    shown = typeof v;
  }
  throw new FaceMaeError(`queue job refused: ${what}, got ${shown}`, 'E_BAD_JOB');
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

function onlyKeys(v: unknown, where: string, required: readonly string[], optional: readonly string[] = []) {
  if (!isObject(v)) bad(`${where} must be an object`, v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!required.includes(k) && !optional.includes(k)) bad(`${where} has an unknown key "${k}"`, o);
  for (const k of required) if (!Object.hasOwn(o, k)) bad(`${where} lacks "${k}"`, o);
  return o;
}

const isInt = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** An absolute, normalised path with no NUL: what the producer writes (path.resolve). */
function absPath(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '' || v.includes('\0') || !path.isAbsolute(v) || path.resolve(v) !== v)
    bad(`${where} must be an absolute, normalised path`, v);
  return v as string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A task's shape and values, as a job holds it (the producer checks its own before planning). */
export function checkQueueTask(v: unknown): QueueTask {
  const kind = isObject(v) ? v.kind : undefined;
  if (kind === 'reconstruct') {
    const t = onlyKeys(
      v,
      'task',
      ['kind', 'model', 'data', 'seed', 'batchSize', 'quality'],
      ['maskRatio', 'pasteBack', 'allowNoProtection'],
    );
    absPath(t.model, 'task.model');
    absPath(t.data, 'task.data');
    if (!isInt(t.seed, 0, 2 ** 32 - 1)) bad('task.seed must be an integer in [0, 2^32)', t.seed);
    if (!isInt(t.batchSize, 1, 4096)) bad('task.batchSize must be an integer in [1, 4096]', t.batchSize);
    if (!isInt(t.quality, 1, 100)) bad('task.quality must be an integer in [1, 100]', t.quality);
    if (
      t.maskRatio !== undefined &&
      !(typeof t.maskRatio === 'number' && t.maskRatio >= 0 && t.maskRatio < 1)
    )
      bad('task.maskRatio must be a number in [0, 1)', t.maskRatio);
    if (
      t.pasteBack !== undefined &&
      !(typeof t.pasteBack === 'number' && t.pasteBack >= 0 && t.pasteBack <= 1)
    )
      bad('task.pasteBack must be a number in [0, 1]', t.pasteBack);
    if (t.allowNoProtection !== undefined && typeof t.allowNoProtection !== 'boolean')
      bad('task.allowNoProtection must be true or false', t.allowNoProtection);
    if (t.maskRatio === 0 && t.allowNoProtection !== true)
      bad(
        'task.maskRatio 0 removes no patch (the output would be the originals) without allowNoProtection',
        0,
      );
    return t as unknown as QueueTask;
  }
  if (kind === 'distort') {
    const t = onlyKeys(v, 'task', ['kind', 'config']);
    if (!isObject(t.config)) bad('task.config must be an object', t.config);
    const cfg = t.config as Record<string, unknown>;
    checkKnownKeys(DISTORT_CONFIG_KEYS, cfg, '', 'queue job task.config');
    absPath(cfg.data, 'task.config.data');
    absPath(cfg.out, 'task.config.out');
    try {
      validateDistortConfig(cfg as never);
    } catch (e) {
      bad(`task.config: ${(e as Error).message}`, cfg);
    }
    return t as unknown as QueueTask;
  }
  return bad('task.kind must be "reconstruct" or "distort"', kind);
}

function checkShard(v: unknown): ShardPlan {
  const s = onlyKeys(v, 'shard', ['index', 'images', 'select']);
  if (!isInt(s.index, 0, 1e9)) bad('shard.index must be a non-negative integer', s.index);
  if (!isInt(s.images, 0, 1e9)) bad('shard.images must be a non-negative integer', s.images);
  const sel = s.select;
  if (isObject(sel) && Object.hasOwn(sel, 'files')) {
    onlyKeys(sel, 'shard.select', ['files']);
    const files = sel.files;
    if (!Array.isArray(files) || files.length !== s.images)
      bad(`shard.select.files must list shard.images (${String(s.images)}) paths`, files);
    for (const f of files as unknown[]) {
      if (typeof f !== 'string') bad('shard.select.files holds a non-string', f);
      const parts = (f as string).split('/');
      if (parts.length !== 2) bad('shard.select.files must hold <identity>/<image> paths', f);
      for (const p of parts) checkSafeName(p, 'queue job shard.select.files');
    }
  } else {
    const r = onlyKeys(sel, 'shard.select', ['start', 'end']);
    if (!isInt(r.start, 0, 2 ** 40) || !isInt(r.end, 0, 2 ** 40) || r.end < r.start)
      bad('shard.select must be an integer range 0 <= start <= end', sel);
    if ((r.end as number) - (r.start as number) !== s.images)
      bad('shard.select does not hold shard.images images', sel);
  }
  return s as unknown as ShardPlan;
}

/** The job's data with its shape checked (any other shape is refused with E_BAD_JOB). */
export function checkShardJob(raw: unknown): ShardJobData {
  const d = onlyKeys(raw, 'job', ['runId', 'out', 'task', 'shard']);
  if (typeof d.runId !== 'string' || !UUID.test(d.runId)) bad('runId must be a UUID', d.runId);
  const out = absPath(d.out, 'out');
  const task = checkQueueTask(d.task);
  const shard = checkShard(d.shard);
  if (task.kind === 'distort' && task.config.out !== out)
    bad('task.config.out must equal out', task.config.out);
  if (task.kind === 'distort' && !('files' in shard.select))
    bad('a distort shard must list its files', shard.select);
  return { runId: d.runId as string, out, task, shard };
}

const under = (p: string, roots: readonly string[]) => {
  const r = realPathOf(p);
  return roots.some((root) => {
    const rr = realPathOf(root);
    return r === rr || r.startsWith(rr.endsWith(path.sep) ? rr : rr + path.sep);
  });
};

/** Refuses a job whose folders are not under the worker's roots (compared by real path). */
export function checkJobRoots(d: ShardJobData, roots: WorkerRoots): void {
  const t = d.task;
  const places: Array<[string, string, readonly string[], string]> = [
    ['out', d.out, roots.out, '--out-root'],
    ['data', t.kind === 'reconstruct' ? t.data : t.config.data, roots.data, '--data-root'],
  ];
  if (t.kind === 'reconstruct') places.push(['model', t.model, roots.model, '--model-root']);
  for (const [key, p, allowed, flag] of places) {
    if (!under(p, allowed))
      throw new FaceMaeError(
        `queue job refused: its ${key} ${p} is not under this worker's ${flag} (${allowed.join(', ') || 'none given'})`,
        'E_JOB_OUTSIDE_ROOTS',
      );
  }
  checkOutSeparate(d.out, [{ key: 'data', path: places[1]![1] }]);
}

/**
 * Refuses a job that is not a shard of the run planned in `<out>/.queue/job.json`: same run id,
 * same task (so the same folders) and the same shard as the plan holds at that index.
 */
export function checkJobAgainstPlan(d: ShardJobData): void {
  const file = path.join(queueDir(d.out), 'job.json');
  let plan: JobPlan;
  try {
    plan = JSON.parse(fs.readFileSync(file, 'utf8')) as JobPlan;
  } catch {
    throw new FaceMaeError(
      `queue job refused: ${file} is missing or unreadable, so ${d.out} is not a queued run this worker can see`,
      'E_JOB_NOT_IN_RUN',
    );
  }
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (plan.runId !== d.runId || !same(plan.task, d.task) || !same(plan.shards?.[d.shard.index], d.shard))
    throw new FaceMaeError(
      `queue job refused: run ${d.runId} shard ${d.shard.index} is not the shard planned in ${file}`,
      'E_JOB_NOT_IN_RUN',
    );
}
