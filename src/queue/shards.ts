/**
 * What a queued job is made of: the task every shard runs (reconstruct or distort, with its
 * resolved parameters), the shards (a part of the input each), and where their bookkeeping lives
 * in the output: `<out>/.queue/job.json` (the plan), `<out>/.queue/<shard>.jsonl` (the shard's
 * manifest, appended batch by batch) and `<out>/.queue/<shard>.json` (written atomically
 * when the shard is complete: the shard's commit).
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { listImageFolder, type OnWarning } from '../data/image-folder.js';
import { datasetRoot } from '../data/release.js';
import { isRecordIOSpec, openFaceSource, type SourceSelection } from '../data/source.js';
import type { DistortDatasetConfig } from '../protect/distort-dataset.js';

/** The one BullMQ queue every worker listens on; each job names its own output folder. */
export const QUEUE_NAME = 'facemae';

/**
 * Default images per shard: seconds to minutes of one worker; a power of two so that it is a
 * multiple of the usual batch sizes (see planShards).
 */
export const DEFAULT_SHARD_SIZE = 1024;

export interface ReconstructTask {
  kind: 'reconstruct';
  /** Absolute paths: every worker must see them (shared storage). */
  model: string;
  data: string;
  seed: number;
  /** Undefined: the ratio the model was trained with. */
  maskRatio?: number;
  /** See ReconstructOptions.pasteBack (undefined: 1). */
  pasteBack?: number;
  batchSize: number;
  quality: number;
  /** See ReconstructOptions.allowNoProtection. */
  allowNoProtection?: boolean;
}

export interface DistortTask {
  kind: 'distort';
  config: DistortDatasetConfig;
}

export type QueueTask = ReconstructTask | DistortTask;

export interface ShardPlan {
  index: number;
  images: number;
  select: SourceSelection;
}

/** The data of one BullMQ job. */
export interface ShardJobData {
  runId: string;
  /** Absolute output folder. */
  out: string;
  task: QueueTask;
  shard: ShardPlan;
}

/** What a worker writes when a shard is complete (and returns as the job's result). */
export interface ShardDone {
  index: number;
  images: number;
  /** Images of the shard in the output (an earlier, killed attempt's included). */
  written: number;
  errors: { source: string; message: string }[];
}

export interface JobPlan {
  runId: string;
  task: QueueTask;
  total: number;
  shards: ShardPlan[];
}

export const queueDir = (out: string): string => path.join(out, '.queue');
const shardName = (index: number) => `shard-${String(index).padStart(6, '0')}`;
/** Relative to `out`, as protectDataset's manifestName. */
export const shardManifestName = (index: number): string => `.queue/${shardName(index)}.jsonl`;
export const shardDoneFile = (out: string, index: number): string =>
  path.join(queueDir(out), `${shardName(index)}.json`);
/**
 * The registration of a run in Redis: a worker takes a job only when this key holds the job's
 * own output and task (see job-check.ts). Set by the producer, removed when the run is merged.
 */
export const runKey = (runId: string): string => `facemae:run:${runId}`;
export const runRegistration = (out: string, task: QueueTask): string => JSON.stringify({ out, task });

/** BullMQ job ids may not contain ':'. */
export const shardJobId = (runId: string, index: number): string => `${runId}-${index}`;

/** Absolute input of a task (the folder or .rec the shards select from). */
export function taskData(task: QueueTask): string {
  return task.kind === 'reconstruct' ? task.data : task.config.data;
}

/**
 * Splits the input into shards of `shardSize` images in the single-process order: index ranges
 * for a .rec (a few bytes per job), relative file lists for an identity folder.
 */
export async function planShards(
  task: QueueTask,
  shardSize: number,
  opts: { onWarning?: OnWarning } = {},
): Promise<{ total: number; shards: ShardPlan[] }> {
  if (!Number.isInteger(shardSize) || shardSize < 1)
    throw new FaceMaeError(`--shard-size must be a positive integer, got ${shardSize}`, 'E_CONFIG');
  // The model's float results depend (in the last bits) on which images share a batch: shards
  // cut at batch boundaries keep every batch of the single-process run, so the same bytes.
  if (task.kind === 'reconstruct' && shardSize % task.batchSize !== 0) {
    const up = Math.ceil(shardSize / task.batchSize) * task.batchSize;
    throw new FaceMaeError(
      `--shard-size ${shardSize} is not a multiple of --batch-size ${task.batchSize}: shards would cut batches differently from a single-process run and reconstructions could differ in the last bit; use --shard-size ${up}`,
      'E_CONFIG',
    );
  }
  const data = taskData(task);
  const shards: ShardPlan[] = [];
  if (task.kind === 'reconstruct' && isRecordIOSpec(data)) {
    const src = await openFaceSource(data, opts);
    const total = src.length;
    await src.close();
    for (let start = 0, index = 0; start < total; start += shardSize, index++) {
      const end = Math.min(total, start + shardSize);
      shards.push({ index, images: end - start, select: { start, end } });
    }
    return { total, shards };
  }
  if (!fs.existsSync(data)) throw new FaceMaeError(`input ${data} does not exist`, 'E_NOT_FOUND');
  // relative to the identity folders (a release given as its run folder: its images/)
  const root = datasetRoot(data);
  const files = (await listImageFolder(root, opts)).records.map((r) =>
    path.relative(root, r.path).split(path.sep).join('/'),
  );
  for (let start = 0, index = 0; start < files.length; start += shardSize, index++) {
    const part = files.slice(start, start + shardSize);
    shards.push({ index, images: part.length, select: { files: part } });
  }
  return { total: files.length, shards };
}
