/** The one progress bar of a queued run: images done/total, rate, ETA and live workers. */
import type { QueueProgress } from '../queue/producer.js';
import type { Logger } from './logger.js';
import { createProgress, type ProgressBar } from './progress.js';

export function queueProgress(label: string, url: string, log: Logger, quiet?: boolean) {
  let bar: ProgressBar | undefined;
  let hinted = false;
  return {
    onProgress(p: QueueProgress) {
      if (p.workers === 0 && !hinted) {
        hinted = true;
        log.info(`${p.shards} shards queued on ${url}: start workers with \`facemae worker --queue ${url}\``);
      }
      bar ??= createProgress(label, p.total, { quiet });
      bar.update(
        p.done,
        `${p.rate.toFixed(1)} img/s · ${p.workers} workers · ${p.shardsDone}/${p.shards} shards`,
      );
    },
    finish() {
      bar?.finish();
    },
  };
}
