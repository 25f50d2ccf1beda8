/**
 * The producer of a queued reconstruct/distort: plans the shards, enqueues one BullMQ job per
 * shard, waits while workers anywhere run them (reporting images done, rate and live workers),
 * then merges the shards' manifests into the one release layout (data/release.ts).
 *
 * One producer per output: a Redis key (refreshed while it runs, expiring when it dies) holds the
 * output; a second producer is refused. The plan is saved in `<out>/.queue/job.json`, so
 * `--resume` after a crash, a Ctrl-C or a Redis restart re-enqueues only the shards not committed
 * (job ids are deterministic, so a job still queued is not added twice).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { saveResolvedConfig } from '../config/resolve.js';
import { FaceMaeError } from '../core/errors.js';
import { atomicWriteFileSync, readJson, writeJsonAtomic } from '../core/fs.js';
import { guardOutDir, type GuardedInput, type OutLock } from '../core/out-guard.js';
import type { OnWarning } from '../data/image-folder.js';
import { packImageFolder } from '../data/recordio.js';
import { datasetRoot, RELEASE_IMAGES, RELEASE_MANIFEST } from '../data/release.js';
import { fileRecords, openFaceSource, type FaceSource } from '../data/source.js';
import { readManifest } from '../protect/manifest.js';
import { authOptions, openRedis, probeRedis, redactUrl } from './connection.js';
import { checkQueueTask } from './job-check.js';
import {
  planShards,
  QUEUE_NAME,
  queueDir,
  runKey,
  runRegistration,
  shardDoneFile,
  shardJobId,
  shardManifestName,
  type JobPlan,
  type QueueTask,
  type ShardDone,
  type ShardJobData,
  taskData,
} from './shards.js';

/** The producer's hold on an output expires this long after its last refresh. */
const LOCK_TTL_MS = 30_000;

export interface QueueProgress {
  done: number;
  total: number;
  shardsDone: number;
  shards: number;
  /** Workers connected to the queue now. */
  workers: number;
  /** Images per second since this producer started (images done before it are not counted). */
  rate: number;
}

export interface QueuedRunOptions {
  url: string;
  task: QueueTask;
  out: string;
  shardSize: number;
  /** reconstruct only: also pack out/data.rec/.idx once every shard is in. */
  format?: 'folder' | 'rec';
  resume?: boolean;
  overwrite?: boolean;
  onProgress?: (p: QueueProgress) => void;
  onWarning?: OnWarning;
  /** Seconds between checks of the shards on disk (default 1). */
  pollSec?: number;
}

export interface QueuedRunResult {
  out: string;
  runId: string;
  images: number;
  shards: number;
  /** Images written by the workers (unreadable ones excluded). */
  written: number;
  errors: ShardDone['errors'];
  /** The merged manifest. */
  manifest: string;
  rec?: string;
}

const lockKey = (out: string) => `facemae:producer:${crypto.createHash('sha1').update(out).digest('hex')}`;

/** Takes the output for this producer, or throws naming the one that holds it. */
async function acquireLock(redis: Redis, out: string, token: string): Promise<() => Promise<void>> {
  const key = lockKey(out);
  const ok = await redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX');
  if (ok !== 'OK') {
    const holder = (await redis.get(key)) ?? '(expired just now)';
    throw new FaceMaeError(
      `another producer is running on ${out} (${holder}): wait for it, or stop it and rerun with --resume after ${LOCK_TTL_MS / 1000} s`,
      'E_QUEUE_BUSY',
    );
  }
  const timer = setInterval(() => {
    // Re-set only while it is still ours (or was lost with a Redis restart).
    redis
      .get(key)
      .then((v) => (v === null || v === token ? redis.set(key, token, 'PX', LOCK_TTL_MS) : undefined))
      .catch(() => {}); // Redis away: ioredis reconnects, the next tick retries
  }, LOCK_TTL_MS / 3);
  timer.unref();
  return async () => {
    clearInterval(timer);
    if ((await redis.get(key)) === token) await redis.del(key);
  };
}

/** Loads the saved plan (resume) or makes and saves a new one. */
async function loadOrPlan(opts: QueuedRunOptions, out: string): Promise<JobPlan> {
  const jobFile = path.join(queueDir(out), 'job.json');
  if (opts.resume && fs.existsSync(jobFile)) {
    const plan = readJson<JobPlan>(jobFile);
    if (JSON.stringify(plan.task) !== JSON.stringify(opts.task)) {
      throw new FaceMaeError(
        `cannot resume ${out}: it was queued with ${JSON.stringify(plan.task)}, now ${JSON.stringify(opts.task)}; use another --out or --overwrite`,
        'E_RESUME_MISMATCH',
      );
    }
    return plan;
  }
  if (opts.overwrite) fs.rmSync(queueDir(out), { recursive: true, force: true });
  const { total, shards } = await planShards(opts.task, opts.shardSize, { onWarning: opts.onWarning });
  const plan: JobPlan = { runId: crypto.randomUUID(), task: opts.task, total, shards };
  fs.mkdirSync(queueDir(out), { recursive: true });
  const t = opts.task;
  if (t.kind === 'reconstruct') {
    saveResolvedConfig(out, 'reconstruct', {
      ...t,
      format: opts.format ?? 'folder',
      queue: redactUrl(opts.url),
      shardSize: opts.shardSize,
    });
  } else {
    saveResolvedConfig(out, 'distort', t.config);
  }
  writeJsonAtomic(jobFile, plan);
  return plan;
}

/**
 * Concatenates the shard manifests in the single-process order, atomically. A shard run twice at
 * once (a worker that stalled past its lock and another that took the job over) appends its lines
 * twice: each image keeps one line (they are identical, outputs depending only on seed and key),
 * in the order of the shard's records.
 */
async function mergeManifests(out: string, plan: JobPlan, data: string): Promise<string> {
  const file = path.join(out, RELEASE_MANIFEST);
  const root = datasetRoot(data);
  const parts: string[] = [];
  let whole: FaceSource | undefined; // a .rec is opened once, not per range shard
  for (const s of plan.shards) {
    const bySource = readManifest(path.join(out, shardManifestName(s.index)));
    if (bySource.size === 0) continue;
    const sel = s.select;
    const sources =
      'files' in sel
        ? fileRecords(root, sel.files).map((r) => r.path)
        : await (async () => {
            whole ??= await openFaceSource(data);
            const w = whole;
            return Array.from({ length: sel.end - sel.start }, (_, i) => w.record(sel.start + i).path);
          })();
    for (const p of sources) {
      const l = bySource.get(p);
      if (l !== undefined) parts.push(JSON.stringify(l) + '\n');
    }
  }
  await whole?.close();
  atomicWriteFileSync(file, parts.join(''));
  return file;
}

/** Runs a task through the queue at `opts.url`; resolves when every shard is committed and merged. */
export async function runQueued(opts: QueuedRunOptions): Promise<QueuedRunResult> {
  const out = path.resolve(opts.out);
  // the workers will hold the task to the same checks: refuse it here, before anything is queued
  checkQueueTask(opts.task);
  if (opts.task.kind === 'distort' && opts.task.config.out !== out)
    throw new FaceMaeError(`the distort task's out ${opts.task.config.out} is not ${out}`, 'E_CONFIG');
  await probeRedis(opts.url);
  const redis = openRedis(opts.url);
  // reconnects by itself and waits through a Redis restart: one line when it goes, one when back
  let down = false;
  redis.on('error', (e: Error) => {
    if (down) return;
    down = true;
    opts.onWarning?.(`lost Redis at ${redactUrl(opts.url)} (${e.message}); waiting for it to come back`);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    opts.onWarning?.(`Redis at ${redactUrl(opts.url)} is back`);
  });
  let release: (() => Promise<void>) | undefined;
  let outLock: OutLock | undefined;
  let queue: Queue | undefined;
  let events: QueueEvents | undefined;
  try {
    release = await acquireLock(
      redis,
      out,
      `pid ${process.pid} on ${os.hostname()} since ${new Date().toISOString()}`,
    );
    const inputs: GuardedInput[] = [{ key: 'data', path: taskData(opts.task) }];
    if (opts.task.kind === 'reconstruct')
      inputs.push({ key: 'model', path: opts.task.model, outMayBeInside: true });
    // the workers write under this producer's lock (they pass lock: false)
    outLock = guardOutDir(out, {
      inputs,
      command: `${opts.task.kind} --queue`,
      resume: opts.resume,
      overwrite: opts.overwrite,
      onWarning: opts.onWarning,
    });
    const plan = await loadOrPlan(opts, out);
    await redis.set(runKey(plan.runId), runRegistration(out, plan.task));
    const q = new Queue<ShardJobData, ShardDone>(QUEUE_NAME, { connection: redis });
    queue = q;
    q.on('error', () => {});
    const committed = new Map<number, ShardDone>();
    const check = (index: number) => {
      if (committed.has(index)) return;
      const f = shardDoneFile(out, index);
      if (fs.existsSync(f)) committed.set(index, readJson<ShardDone>(f));
    };
    plan.shards.forEach((s) => check(s.index));
    const failed = new Map<number, string>();
    /** Adds the jobs of shards not committed; existing ids are kept by BullMQ, failed ones retried. */
    const enqueue = async () => {
      const todo = plan.shards.filter((s) => !committed.has(s.index));
      for (const s of todo) {
        const job = await q.getJob(shardJobId(plan.runId, s.index));
        if (job && (await job.isFailed())) await job.retry();
      }
      await q.addBulk(
        todo.map((s) => ({
          name: plan.task.kind,
          data: { runId: plan.runId, out, task: plan.task, shard: s },
          opts: {
            jobId: shardJobId(plan.runId, s.index),
            attempts: 3,
            backoff: { type: 'fixed', delay: 2000 },
            removeOnComplete: true,
            removeOnFail: false,
          },
        })),
      );
    };
    await enqueue();
    // A Redis restart may lose queued jobs (no persistence): re-add what is not committed.
    let ready = 0;
    redis.on('ready', () => {
      if (ready++ > 0) enqueue().catch(() => {});
    });
    ready = 1;
    const inFlight = new Map<number, number>();
    const ev = new QueueEvents(QUEUE_NAME, { connection: { url: opts.url, ...authOptions(opts.url) } });
    events = ev;
    ev.on('error', () => {});
    const ours = (jobId: string) =>
      jobId.startsWith(`${plan.runId}-`) ? Number(jobId.slice(plan.runId.length + 1)) : -1;
    ev.on('progress', ({ jobId, data }) => {
      const i = ours(jobId);
      if (i >= 0 && typeof data === 'object' && data !== null)
        inFlight.set(i, Number((data as { done?: number }).done) || 0);
    });
    ev.on('completed', ({ jobId }) => {
      const i = ours(jobId);
      if (i >= 0) {
        check(i);
        inFlight.delete(i);
      }
    });
    ev.on('failed', ({ jobId, failedReason }) => {
      const i = ours(jobId);
      if (i < 0) return;
      q.getJobState(jobId)
        .then((st) => {
          if (st === 'failed') failed.set(i, failedReason);
        })
        .catch(() => {});
    });
    const pollMs = (opts.pollSec ?? 1) * 1000;
    let workers = 0;
    let polls = 0;
    const t0 = Date.now();
    let done0: number | undefined;
    const report = () => {
      let done = 0;
      for (const c of committed.values()) done += c.images;
      for (const [i, n] of inFlight) if (!committed.has(i)) done += n;
      done0 ??= done;
      const secs = (Date.now() - t0) / 1000;
      const rate = secs > 0 ? (done - done0) / secs : 0;
      opts.onProgress?.({
        done,
        total: plan.total,
        shardsDone: committed.size,
        shards: plan.shards.length,
        workers,
        rate,
      });
    };
    while (committed.size < plan.shards.length) {
      report();
      if (failed.size > 0 && committed.size + failed.size >= plan.shards.length) {
        const [i, why] = failed.entries().next().value as [number, string];
        throw new FaceMaeError(
          `${failed.size} shard(s) of ${out} failed after retries (shard ${i}: ${why}); fix the cause and rerun with --resume`,
          'E_QUEUE_FAILED',
        );
      }
      await new Promise((res) => setTimeout(res, pollMs));
      workers = await q.getWorkersCount().catch(() => workers);
      // 'completed' events commit shards as they come; a full look on disk (one stat per pending
      // shard, costly on shared storage at 10^5 shards) only every 30 polls catches missed events.
      if (++polls % 30 === 0) for (const s of plan.shards) if (!committed.has(s.index)) check(s.index);
    }
    report();
    const errors = plan.shards.flatMap((s) => committed.get(s.index)?.errors ?? []);
    const written = plan.shards.reduce((a, s) => a + (committed.get(s.index)?.written ?? 0), 0);
    if (errors.length > 0)
      atomicWriteFileSync(
        path.join(out, 'errors.jsonl'),
        errors.map((e) => JSON.stringify(e)).join('\n') + '\n',
      );
    const manifest = await mergeManifests(out, plan, taskData(plan.task));
    let rec: string | undefined;
    if (plan.task.kind === 'reconstruct' && opts.format === 'rec') {
      rec = (
        await packImageFolder(path.join(out, RELEASE_IMAGES), path.join(out, 'data'), {
          overwrite: true,
          verify: false,
        })
      ).rec;
    }
    // Everything .queue held is now in manifest.jsonl / errors.jsonl.
    fs.rmSync(queueDir(out), { recursive: true, force: true });
    await redis.del(runKey(plan.runId));
    return {
      out,
      runId: plan.runId,
      images: plan.total,
      shards: plan.shards.length,
      written,
      errors,
      manifest,
      ...(rec ? { rec } : {}),
    };
  } finally {
    await events?.close().catch(() => {});
    await queue?.close().catch(() => {});
    await release?.().catch(() => {});
    outLock?.release();
    redis.disconnect();
  }
}
