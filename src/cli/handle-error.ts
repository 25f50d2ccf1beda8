/** The one place CLI errors are printed: the message, a stack only with --verbose, exit 1. */
import type { Command } from 'commander';
import { FaceMaeError } from '../core/errors.js';

/**
 * The flag of `cmd` that sets config key `key` ('batchSize' -> --batch-size, 'irm.teacher' ->
 * --irm-teacher, 'model.imageSize' -> --image-size); undefined when the command has none.
 */
export function flagForKey(cmd: Command | undefined, key: string): string | undefined {
  if (!cmd) return undefined;
  const parts = key.split('.');
  const joined = parts.map((p, i) => (i === 0 ? p : p.charAt(0).toUpperCase() + p.slice(1))).join('');
  const names = [joined, parts[parts.length - 1]];
  for (const name of names) {
    const opt = cmd.options.find((o) => o.attributeName() === name);
    if (opt?.long) return opt.long;
  }
  return undefined;
}

/** The message as the CLI prints it: a library error about a config key also names the key's flag. */
export function cliMessage(err: FaceMaeError, cmd?: Command): string {
  if (!err.key) return err.message;
  const flag = flagForKey(cmd, err.key);
  return flag ? `${err.message} [${err.key}: ${flag}]` : `${err.message} [${err.key}: --set ${err.key}=...]`;
}

export function handleError(err: unknown, verbose: boolean, cmd?: Command): never {
  if (err instanceof FaceMaeError) {
    process.stderr.write(`facemae: error: ${cliMessage(err, cmd)}\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
  } else if (err instanceof Error) {
    process.stderr.write(`facemae: error: ${err.message}\n`);
    process.stderr.write(
      verbose && err.stack ? `${err.stack}\n` : '(run with --verbose for the stack trace)\n',
    );
  } else {
    process.stderr.write(`facemae: error: ${String(err)}\n`);
  }
  process.exit(1);
}
