import { Option, type Command } from 'commander';
import { redactUrl } from '../../queue/connection.js';
import {
  DEFAULT_SHUTDOWN_TIMEOUT_SEC,
  DEFAULT_STALL_TIMEOUT_SEC,
  startShardWorker,
} from '../../queue/worker.js';
import { collect, contextOf, parseInteger, parseNumber } from '../context.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'take shard jobs of queued `reconstruct --queue` / `distort --queue` runs until stopped (Ctrl-C)',
    )
    .requiredOption(
      '--queue <url>',
      '[string] Redis URL of the queue: redis://[USER:PASSWORD@]HOST:PORT[/DB] or rediss:// (TLS); or the password in FACEMAE_QUEUE_PASSWORD',
    )
    .requiredOption(
      '--out-root <dir>',
      '[string] a folder under which jobs may write their output (repeatable); other jobs are refused',
      collect,
    )
    .requiredOption(
      '--data-root <dir>',
      '[string] a folder under which jobs may read their input (repeatable)',
      collect,
    )
    .option(
      '--model-root <dir>',
      '[string] a folder under which reconstruct jobs may load their model (repeatable; none: reconstruct jobs are refused)',
      collect,
    )
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
    .option(
      '--shutdown-timeout <s>',
      `[number] seconds a stop signal waits for the shards in hand (and Redis) before quitting (default: ${DEFAULT_SHUTDOWN_TIMEOUT_SEC})`,
      parseNumber('--shutdown-timeout'),
    )
    .addOption(
      new Option('--pace-ms <ms>', 'wait after each batch (tests)')
        .argParser(parseInteger('--pace-ms'))
        .hideHelp(),
    )
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { log } = contextOf(cmd);
      const url = o.queue as string;
      const w = await startShardWorker({
        url,
        roots: {
          out: o.outRoot as string[],
          data: o.dataRoot as string[],
          model: (o.modelRoot as string[] | undefined) ?? [],
        },
        concurrency: o.concurrency as number | undefined,
        stallTimeoutSec: o.stallTimeout as number | undefined,
        paceMs: o.paceMs as number | undefined,
        onEvent: log.info,
      });
      log.info(`worker on ${redactUrl(url)}: waiting for shards (Ctrl-C to stop after the current ones)`);
      const timeout = (o.shutdownTimeout as number | undefined) ?? DEFAULT_SHUTDOWN_TIMEOUT_SEC;
      const code = await new Promise<number>((resolve) => {
        const stop = () => {
          log.info(
            `worker: finishing the shards in hand, then stopping (at most ${timeout} s; signal again to quit now)`,
          );
          // A second signal quits at once; the shard in hand is retried elsewhere after the stall
          // timeout, as after a kill.
          const now = () => resolve(130);
          process.once('SIGINT', now);
          process.once('SIGTERM', now);
          w.close(timeout).then(
            () => resolve(0),
            () => resolve(1),
          );
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      // ioredis may still hold a socket retrying a dead Redis: exit rather than wait for it
      process.exit(code);
    });
}
