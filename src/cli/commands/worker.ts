import { Option, type Command } from 'commander';
import { num, posInt, str, strList, z } from '../../config/schema.js';
import { redactUrl } from '../../queue/connection.js';
import {
  DEFAULT_SHUTDOWN_TIMEOUT_SEC,
  DEFAULT_STALL_TIMEOUT_SEC,
  startShardWorker,
} from '../../queue/worker.js';
import {
  addConfigOptions,
  contextOf,
  parseInteger,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';

const SCHEMA = z.strictObject({
  queue: str(),
  outRoot: strList(),
  dataRoot: strList(),
  modelRoot: strList(),
  concurrency: posInt(),
  stallTimeout: num().positive(),
  shutdownTimeout: num().nonnegative(),
});
type WorkerConfig = z.infer<typeof SCHEMA>;

const DEFAULTS: WorkerConfig = {
  queue: '',
  outRoot: [],
  dataRoot: [],
  modelRoot: [],
  concurrency: 1,
  stallTimeout: DEFAULT_STALL_TIMEOUT_SEC,
  shutdownTimeout: DEFAULT_SHUTDOWN_TIMEOUT_SEC,
};

const FLAGS: ConfigFlag[] = [
  {
    flag: '--queue <url>',
    key: 'queue',
    help: 'Redis URL of the queue: redis://[USER:PASSWORD@]HOST:PORT[/DB] or rediss:// (TLS); or the password in FACEMAE_QUEUE_PASSWORD',
    required: true,
  },
  {
    flag: '--out-root <dir>',
    key: 'outRoot',
    help: 'a folder under which jobs may write their output; other jobs are refused',
    required: true,
  },
  {
    flag: '--data-root <dir>',
    key: 'dataRoot',
    help: 'a folder under which jobs may read their input',
    required: true,
  },
  {
    flag: '--model-root <dir>',
    key: 'modelRoot',
    help: 'a folder under which reconstruct jobs may load their model (none: reconstruct jobs are refused)',
  },
  { flag: '--concurrency <n>', key: 'concurrency', help: 'shards at once in this process' },
  {
    flag: '--stall-timeout <s>',
    key: 'stallTimeout',
    help: 'seconds without a heartbeat before a shard is retried by another worker',
  },
  {
    flag: '--shutdown-timeout <s>',
    key: 'shutdownTimeout',
    help: 'seconds a stop signal waits for the shards in hand (and Redis) before quitting',
  },
];

interface WorkerOptions extends ConfigSources {
  paceMs?: number;
}

export function registerWorker(program: Command): void {
  const verb = program
    .command('worker')
    .description(
      'take shard jobs of queued `reconstruct --queue` / `distort --queue` runs until stopped (Ctrl-C)',
    );
  addConfigOptions(verb, SCHEMA, DEFAULTS, FLAGS, 'concurrency=2')
    .addOption(
      new Option('--pace-ms <ms>', 'wait after each batch (tests)')
        .argParser(parseInteger('--pace-ms'))
        .hideHelp(),
    )
    .action(async (o: WorkerOptions, cmd: Command) => {
      const { log } = contextOf(cmd);
      const cfg = resolveVerbConfig(SCHEMA, DEFAULTS, o, FLAGS);
      const url = cfg.queue;
      const w = await startShardWorker({
        url,
        roots: { out: cfg.outRoot, data: cfg.dataRoot, model: cfg.modelRoot },
        concurrency: cfg.concurrency,
        stallTimeoutSec: cfg.stallTimeout,
        paceMs: o.paceMs,
        onEvent: log.info,
      });
      log.info(`worker on ${redactUrl(url)}: waiting for shards (Ctrl-C to stop after the current ones)`);
      const timeout = cfg.shutdownTimeout;
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
