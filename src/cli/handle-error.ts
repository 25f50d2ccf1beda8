/** The one place CLI errors are printed: the message, a stack only with --verbose, exit 1. */
import { FaceMaeError } from '../core/errors.js';

export function handleError(err: unknown, verbose: boolean): never {
  if (err instanceof FaceMaeError) {
    process.stderr.write(`facemae: error: ${err.message}\n`);
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
