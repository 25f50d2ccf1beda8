import type { Command } from 'commander';
import { serveStatic } from '../../serve/static-server.js';
import { contextOf, parseInteger } from '../context.js';
import { printJson } from '../logger.js';

export function registerWeb(program: Command): void {
  program
    .command('web')
    .description(
      'serve the in-browser app (faces aligned, masked and reconstructed on your device, never uploaded) on this machine',
    )
    .option('--port <n>', '[number] port (default 5178; 0 = any free port)', parseInteger('--port'))
    .option('--host <host>', '[string] address to listen on (default 127.0.0.1, this machine only)')
    .option('--dir <dir>', '[string] serve another build of the app (default: the package’s dist/web)')
    .action(async (o: { port?: number; host?: string; dir?: string }, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const server = await serveStatic({ dir: o.dir, host: o.host, port: o.port ?? 5178 });
      if (opts.json) printJson({ url: server.url });
      else log.result(server.url);
      log.info('serving until Ctrl-C');
      await new Promise<void>((ok) => process.once('SIGINT', ok).once('SIGTERM', ok));
      await server.close();
    });
}
