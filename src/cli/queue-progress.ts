/**
 * The CLI side of a queued run, shared by `reconstruct --queue` and `distort --queue`: the two
 * flags, and one progress bar for the whole job (images done/total, rate, ETA, live workers).
 */
import type { Command } from 'commander';
import { redactUrl } from '../queue/connection.js';
import { runQueued, type QueuedRunOptions, type QueuedRunResult } from '../queue/producer.js';
import { DEFAULT_SHARD_SIZE } from '../queue/shards.js';
import { parseInteger } from './context.js';
import type { Logger } from './logger.js';
import { createProgress, type ProgressBar } from './progress.js';

export function addQueueOptions(cmd: Command): Command {
  return cmd
    .option(
      '--queue <url>',
      '[string] split into shard jobs on this Redis queue (redis://HOST:PORT) for `facemae worker`s',
    )
    .option(
      '--shard-size <n>',
      `[integer] with --queue: images per shard job (default: ${DEFAULT_SHARD_SIZE})`,
      parseInteger('--shard-size'),
    );
}

/** The flags of a queued run (addQueueOptions' two and the verb's --resume/--overwrite). */
export interface QueueFlags {
  queue?: string;
  shardSize?: number;
  resume?: boolean;
  overwrite?: boolean;
}

/** Runs the producer with a progress bar; unreadable images are warned about one per line. */
export async function runQueuedWithProgress(
  label: string,
  flags: QueueFlags & { queue: string },
  log: Logger,
  quiet: boolean | undefined,
  opts: Omit<QueuedRunOptions, 'url' | 'shardSize' | 'resume' | 'overwrite' | 'onProgress' | 'onWarning'>,
): Promise<QueuedRunResult> {
  const url = flags.queue;
  let bar: ProgressBar | undefined;
  let hinted = false;
  const r = await runQueued({
    ...opts,
    url,
    shardSize: flags.shardSize ?? DEFAULT_SHARD_SIZE,
    resume: Boolean(flags.resume),
    overwrite: Boolean(flags.overwrite),
    onWarning: log.warn,
    onProgress(p) {
      if (p.workers === 0 && !hinted) {
        hinted = true;
        const u = redactUrl(url);
        log.info(
          `${p.shards} shards queued on ${u}: start workers with \`facemae worker --queue ${u} --out-root DIR --data-root DIR [--model-root DIR]\``,
        );
      }
      bar ??= createProgress(label, p.total, { quiet });
      bar.update(
        p.done,
        `${p.rate.toFixed(1)} img/s · ${p.workers} workers · ${p.shardsDone}/${p.shards} shards`,
      );
    },
  });
  (bar as ProgressBar | undefined)?.finish();
  for (const e of r.errors) log.warn(`${e.source}: ${e.message}`);
  return r;
}
