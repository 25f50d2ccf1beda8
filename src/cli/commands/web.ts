import type { Command } from 'commander';
import { nonNegInt, str, z } from '../../config/schema.js';
import { serveStatic } from '../../serve/static-server.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';

const SCHEMA = z.strictObject({
  port: nonNegInt().max(65535),
  host: str().min(1).optional(),
  dir: str().optional(),
});
type WebConfig = z.infer<typeof SCHEMA>;

const DEFAULTS: WebConfig = { port: 5178 };

const FLAGS: ConfigFlag[] = [
  { flag: '--port <n>', key: 'port', help: 'port; 0 = any free port' },
  {
    flag: '--host <host>',
    key: 'host',
    help: 'address to listen on',
    default: '127.0.0.1, this machine only',
  },
  {
    flag: '--dir <dir>',
    key: 'dir',
    help: 'serve another build of the app',
    default: 'the package’s dist/web',
  },
];

export function registerWeb(program: Command): void {
  const verb = program
    .command('web')
    .description(
      'serve the in-browser app (faces aligned, masked and reconstructed on your device, never uploaded) on this machine',
    );
  addConfigOptions(verb, SCHEMA, DEFAULTS, FLAGS, 'port=8080').action(
    async (flags: ConfigSources, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveVerbConfig(SCHEMA, DEFAULTS, flags, FLAGS);
      const server = await serveStatic(cfg);
      if (opts.json) printJson({ url: server.url });
      else log.result(server.url);
      log.info('serving until Ctrl-C');
      await new Promise<void>((ok) => process.once('SIGINT', ok).once('SIGTERM', ok));
      await server.close();
    },
  );
}
