/** stderr for humans (progress, notes), stdout for results. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  debug(msg: string): void;
  /** A result: stdout, unless --json where the JSON document is the only stdout. */
  result(msg: string): void;
}

export function createLogger(opts: { verbose?: boolean; quiet?: boolean; json?: boolean } = {}): Logger {
  return {
    info: (m) => {
      if (!opts.quiet) process.stderr.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    debug: (m) => {
      if (opts.verbose) process.stderr.write(`${m}\n`);
    },
    result: (m) => {
      if (!opts.json) process.stdout.write(`${m}\n`);
    },
  };
}

/** Prints a JSON document to stdout (the `--json` contract: one document, nothing else on stdout). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
