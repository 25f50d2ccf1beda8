import type { Command } from 'commander';
import { parseDottedOverrides, resolveConfig, type DeepPartial } from '../config/resolve.js';
import { createLogger, type Logger } from './logger.js';

/** Options every verb accepts (declared once on the root program). */
export interface GlobalOptions {
  verbose?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export interface CliContext {
  opts: GlobalOptions;
  log: Logger;
}

/** Reads the root program's global options from inside a subcommand's action. */
export function contextOf(cmd: Command): CliContext {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  return { opts, log: createLogger(opts) };
}

/** Commander option parsers that name the bad value. */
export const parseNumber = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${v}"`);
  return n;
};
export const parseInteger = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
  return n;
};
export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** A command's config: typed defaults < `--config` file < its flags < `--set key=value` overrides. */
export function resolveCommandConfig<T>(
  defaults: T,
  o: { config?: string; set?: string[] },
  flags: DeepPartial<T>,
): T {
  const fromFlags = resolveConfig<T>({ defaults, configFile: o.config, flags, typed: true });
  return resolveConfig<T>({
    defaults,
    fileConfig: fromFlags as DeepPartial<T>,
    flags: parseDottedOverrides(o.set ?? []) as DeepPartial<T>,
  });
}

/**
 * "(default: X)" for a flag's help, read from the library's typed defaults (DEFAULT_TRAIN_MAE,
 * ...): the one place a default is written.
 */
export const byDefault = (value: unknown, note = ''): string =>
  `(default: ${value === null ? 'none' : String(value)}${note})`;
