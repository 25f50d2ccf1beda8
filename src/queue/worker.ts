/**
 * A queue worker: takes shard jobs from BullMQ and runs the one protection pipeline on the
 * shard's part of the input (protectDataset, resumable), so a shard gives
 * exactly the files the single-process run gives for those images. A shard is committed by
 * writing its `.queue/<shard>.json` atomically; a retried job (after a kill: BullMQ moves a job
 * whose lock was not renewed for `stallTimeoutSec` back to the queue) resumes from the shard's
 * manifest, and a job whose shard is already committed returns at once, so nothing is done twice
 * into the output or lost.
 */
import fs from 'node:fs';
import { Worker, type Job } from 'bullmq';
import { FaceMaeError } from '../core/errors.js';
import { readJson, writeJsonAtomic } from '../core/fs.js';
import { loadMaeRun, type LoadedMae } from '../deploy/load-mae.js';
import { distortDataset } from '../protect/distort-dataset.js';
import { protectDataset, type ProtectOptions, type ProtectResult } from '../protect/protect-dataset.js';
import { openRedis, probeRedis, redactUrl } from './connection.js';
import { checkJobAgainstPlan, checkJobRoots, checkShardJob, type WorkerRoots } from './job-check.js';
import {
  QUEUE_NAME,
  queueDir,
  runKey,
  runRegistration,
  shardDoneFile,
  shardManifestName,
  type ShardDone,
  type ShardJobData,
} from './shards.js';

/** Default seconds without a lock renewal before a job counts as stalled and is retried elsewhere. */
export const DEFAULT_STALL_TIMEOUT_SEC = 60;

/** Default seconds close() waits for the jobs in hand and Redis before it lets go. */
export const DEFAULT_SHUTDOWN_TIMEOUT_SEC = 10;

export interface ShardWorkerOptions {
  url: string;
  /** The folders jobs may name; anything else is refused (see job-check.ts). */
  roots: WorkerRoots;
  /** Jobs run at once in this process (default 1: the model already uses the cores). */
  concurrency?: number;
  /** See DEFAULT_STALL_TIMEOUT_SEC; must exceed the time of one batch. */
  stallTimeoutSec?: number;
  /** Milliseconds to wait after each batch (pacing on a shared machine; lets a test kill mid-shard). */
  paceMs?: number;
  /** Hears one line per shard started, done or failed. */
  onEvent?: (message: string) => void;
}

export interface ShardWorker {
  /**
   * Finishes the jobs in hand, then disconnects; after `timeoutSec` (default
   * DEFAULT_SHUTDOWN_TIMEOUT_SEC) it drops them (they are retried elsewhere after the stall
   * timeout, as after a kill) and resolves false.
   */
  close(timeoutSec?: number): Promise<boolean>;
}

export interface ShardJobContext {
  roots: WorkerRoots;
  /** What the run's producer registered for `runId` (see producer.ts runKey), or null. */
  registration: (runId: string) => Promise<string | null>;
  model?: (dir: string) => Promise<LoadedMae>;
  onProgress?: (done: number, total: number) => Promise<void>;
}

/**
 * A job as the worker receives it: its shape, roots, registration and plan are checked (any
 * failure is a FaceMaeError and nothing is touched), then the shard runs.
 */
export async function handleShardJob(raw: unknown, ctx: ShardJobContext): Promise<ShardDone> {
  const d = checkShardJob(raw);
  checkJobRoots(d, ctx.roots);
  const reg = await ctx.registration(d.runId);
  if (reg !== runRegistration(d.out, d.task))
    throw new FaceMaeError(
      `queue job refused: no producer registered run ${d.runId} with output ${d.out} and this task`,
      'E_JOB_NOT_IN_RUN',
    );
  checkJobAgainstPlan(d);
  return runShard(d, { model: ctx.model, onProgress: ctx.onProgress });
}

/** Runs one shard of a checked job (see handleShardJob); exported for tests. */
export async function runShard(
  d: ShardJobData,
  opts: {
    model?: (dir: string) => Promise<LoadedMae>;
    onProgress?: (done: number, total: number) => Promise<void>;
  } = {},
): Promise<ShardDone> {
  const doneFile = shardDoneFile(d.out, d.shard.index);
  if (fs.existsSync(doneFile)) return readJson<ShardDone>(doneFile);
  if (!fs.existsSync(queueDir(d.out)))
    throw new FaceMaeError(
      `${queueDir(d.out)} is missing: is ${d.out} on storage this worker sees?`,
      'E_NOT_FOUND',
    );
  // every shard runs the one pipeline on its part, resuming from its own manifest
  const shard: ProtectOptions = {
    select: d.shard.select,
    manifestName: shardManifestName(d.shard.index),
    saveConfig: false,
    resume: true,
    lock: false,
    onImageError: 'skip',
    afterBatch: opts.onProgress,
  };
  const task = d.task;
  let r: ProtectResult;
  switch (task.kind) {
    case 'reconstruct':
      r = await protectDataset(
        task.data,
        {
          method: 'facemae',
          model: opts.model ? await opts.model(task.model) : task.model,
          ...(task.maskRatio !== undefined ? { strength: task.maskRatio } : {}),
          ...(task.pasteBack !== undefined ? { pasteBack: task.pasteBack } : {}),
        },
        d.out,
        {
          ...shard,
          seed: task.seed,
          batchSize: task.batchSize,
          quality: task.quality,
          allowNoProtection: task.allowNoProtection === true,
        },
      );
      break;
    case 'distort':
      r = await distortDataset(task.config, shard);
      break;
    default:
      throw new FaceMaeError(`unknown queue task ${JSON.stringify(task)}`, 'E_CONFIG');
  }
  const done: ShardDone = {
    index: d.shard.index,
    images: r.images,
    written: r.written + r.skipped,
    errors: r.errors,
  };
  writeJsonAtomic(doneFile, done);
  return done;
}

/** Starts a worker on the queue at `url`; it runs until close(). */
export async function startShardWorker(opts: ShardWorkerOptions): Promise<ShardWorker> {
  await probeRedis(opts.url);
  const stallMs = Math.round((opts.stallTimeoutSec ?? DEFAULT_STALL_TIMEOUT_SEC) * 1000);
  if (!(stallMs >= 1000))
    throw new FaceMaeError(`--stall-timeout must be at least 1 s, got ${opts.stallTimeoutSec}`, 'E_CONFIG');
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new FaceMaeError(`--concurrency must be a positive integer, got ${concurrency}`, 'E_CONFIG');
  const models = new Map<string, Promise<LoadedMae>>();
  const model = (dir: string) => {
    let m = models.get(dir);
    if (!m) {
      m = loadMaeRun(dir);
      models.set(dir, m);
    }
    return m;
  };
  const say = opts.onEvent ?? (() => {});
  for (const key of ['data', 'model', 'out'] as const) {
    if (!Array.isArray(opts.roots?.[key]) || opts.roots[key].some((r) => typeof r !== 'string' || r === ''))
      throw new FaceMaeError(`roots.${key} must be a list of folders`, 'E_CONFIG');
  }
  if (opts.roots.out.length === 0 || opts.roots.data.length === 0)
    throw new FaceMaeError(
      'a worker needs --out-root and --data-root: the folders its jobs may write and read',
      'E_CONFIG',
    );
  const connection = openRedis(opts.url);
  const where = redactUrl(opts.url);
  // One line when Redis goes (ioredis retries several times a second) and one when it is back.
  let down = false;
  const lost = (err: Error) => {
    if (down) return;
    down = true;
    say(`queue: lost Redis at ${where} (${err.message}); retrying until it is back`);
  };
  connection.on('error', lost);
  connection.on('ready', () => {
    if (!down) return;
    down = false;
    say(`queue: Redis at ${where} is back`);
  });
  const worker = new Worker<ShardJobData, ShardDone>(
    QUEUE_NAME,
    async (job: Job<ShardJobData, ShardDone>) => {
      const raw: unknown = job.data;
      const d = raw as Partial<ShardJobData>;
      // the job is not checked yet: its values are quoted and cut, so they cannot forge log lines
      const shown = (v: unknown) => (JSON.stringify(v) ?? String(v)).slice(0, 200);
      const name = `job ${shown(job.id)} (shard ${shown(d?.shard?.index)} of ${shown(d?.out)})`;
      say(`${name}: started`);
      let last = 0;
      const r = await handleShardJob(raw, {
        roots: opts.roots,
        registration: (runId) => connection.get(runKey(runId)),
        model,
        onProgress: async (done, total) => {
          const now = Date.now();
          if (now - last > 500 || done === total) {
            last = now;
            await job.updateProgress({ done, total });
          }
          if (opts.paceMs) await new Promise((res) => setTimeout(res, opts.paceMs));
        },
      });
      say(`${name}: done (${r.written} written, ${r.errors.length} errors)`);
      return r;
    },
    {
      connection,
      concurrency,
      lockDuration: stallMs,
      stalledInterval: stallMs,
      maxStalledCount: 3,
    },
  );
  worker.on('failed', (job, err) => say(`job ${String(job?.id ?? '?')}: failed: ${err.message}`));
  worker.on('error', lost);
  await worker.waitUntilReady();
  return {
    async close(timeoutSec = DEFAULT_SHUTDOWN_TIMEOUT_SEC) {
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        worker.close().then(
          () => true,
          () => true,
        ),
        new Promise<false>((res) => {
          timer = setTimeout(() => res(false), timeoutSec * 1000);
        }),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        say(`worker: not closed after ${timeoutSec} s (Redis gone?): letting go of the jobs in hand`);
        worker.close(true).catch(() => {});
      }
      connection.disconnect();
      for (const m of models.values()) (await m.catch(() => undefined))?.mae.dispose();
      return inTime;
    },
  };
}
