import { Option, type Command } from 'commander';
import { DEFAULT_STALL_TIMEOUT_SEC, startShardWorker } from '../../queue/worker.js';
import { contextOf, parseInteger, parseNumber } from '../context.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'take shard jobs of queued `reconstruct --queue` / `distort --queue` runs until stopped (Ctrl-C)',
    )
    .requiredOption('--queue <url>', '[string] Redis URL of the queue, e.g. redis://10.0.0.5:6379')
    .option(
      '--concurrency <n>',
      '[integer] shards at once in this process (default: 1)',
      parseInteger('--concurrency'),
    )
    .option(
      '--stall-timeout <s>',
      `[number] seconds without a heartbeat before a shard is retried by another worker (default: ${DEFAULT_STALL_TIMEOUT_SEC})`,
      parseNumber('--stall-timeout'),
    )
    .addOption(
      new Option('--pace-ms <ms>', 'wait after each batch (tests)')
        .argParser(parseInteger('--pace-ms'))
        .hideHelp(),
    )
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { log } = contextOf(cmd);
      const w = await startShardWorker({
        url: o.queue as string,
        concurrency: o.concurrency as number | undefined,
        stallTimeoutSec: o.stallTimeout as number | undefined,
        paceMs: o.paceMs as number | undefined,
        onEvent: log.info,
      });
      log.info(`worker on ${String(o.queue)}: waiting for shards (Ctrl-C to stop after the current ones)`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          log.info('worker: finishing the shards in hand, then stopping (signal again to quit now)');
          // A second signal quits at once (e.g. Redis is gone and close() waits for it); the
          // shard in hand is retried elsewhere after the stall timeout, as after a kill.
          const now = () => process.exit(130);
          process.once('SIGINT', now);
          process.once('SIGTERM', now);
          w.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
