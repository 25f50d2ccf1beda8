import { Option, type Command } from 'commander';
import { loadConfigFile, parseDottedOverrides } from '../config/resolve.js';
import { resolveWithSchema, schemaAt, unwrapSchema, valueAt, z, type ConfigLayer } from '../config/schema.js';
import { FaceMaeError } from '../core/errors.js';
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

/** A flag that sets one config key; its type, choices and default come from the verb's schema. */
export interface ConfigFlag {
  /** commander flags: '--irm-weight <x>', '--no-flip', '--allow-no-protection'. */
  flag: string;
  /** The dotted config key it sets. */
  key: string;
  /** What the value is; "[type]", the accepted values and "(default: …)" are added. */
  help: string;
  /** Said instead of the default read from the defaults (e.g. 'the ratio the model was trained with'). */
  default?: string;
  /** The resolved value may not be empty (from this flag, --config or --set). */
  required?: boolean;
  /** A flag that names a value instead of giving it (train-fr --loss arcface → the margin preset). */
  choices?: readonly string[];
  map?: (v: string) => unknown;
}

/** `--config` and `--set`, as every verb with a config spells them. */
export interface ConfigSources {
  config?: string;
  set?: string[];
}

const choice = (name: string, choices: readonly string[]) => (v: string) => {
  if (!choices.includes(v))
    throw new FaceMaeError(`${name} must be one of ${choices.join(', ')}, got "${v}"`, 'E_CONFIG');
  return v;
};

/**
 * Declares `flags` on `cmd` from the verb's schema (a key the schema lacks is a programming error,
 * thrown at start-up), then `--config <file>` and a repeatable dotted `--set key=value`.
 */
export function addConfigOptions(
  cmd: Command,
  schema: z.ZodType,
  defaults: unknown,
  flags: readonly ConfigFlag[],
  /** A `--set` example for the help, e.g. 'irm.temperature=0.05'. */
  example = `${flags[0]?.key ?? 'key'}=...`,
): Command {
  for (const f of flags) {
    const field = schemaAt(schema, f.key.split('.'));
    if (!field) throw new Error(`${cmd.name()} ${f.flag}: "${f.key}" is not a key of its schema`);
    const t = unwrapSchema(field);
    const name = f.flag.split(/[ ,]/)[0]!;
    const list = t instanceof z.ZodArray;
    const leaf = list ? unwrapSchema(t.element as z.ZodType) : t;
    const choices = f.choices ?? (leaf instanceof z.ZodEnum ? (leaf.options as string[]) : undefined);
    const takesValue = f.flag.includes('<');
    if (!takesValue !== t instanceof z.ZodBoolean && !f.map)
      throw new Error(`${cmd.name()} ${f.flag}: "${f.key}" is ${takesValue ? 'a boolean' : 'not a boolean'}`);
    const kind =
      leaf instanceof z.ZodNumber
        ? leaf.isInt
          ? 'integer'
          : 'number'
        : leaf instanceof z.ZodBoolean
          ? ''
          : 'string';
    const d = f.default ?? (takesValue ? valueAt(defaults, f.key.split('.')) : undefined);
    const empty = d === undefined || d === '' || (Array.isArray(d) && d.length === 0);
    const shownDefault = empty ? '' : ` ${byDefault(Array.isArray(d) ? d.join(',') : d)}`;
    const help =
      `${kind ? `[${kind}] ` : ''}${f.help}${choices ? `: ${choices.join(' | ')}` : ''}` +
      `${shownDefault}${list ? ' (repeatable)' : ''}`;
    const opt = new Option(f.flag, help);
    if (choices && list)
      opt.argParser((v: string, prev?: string[]) => collect(choice(name, choices)(v), prev));
    else if (choices) opt.argParser(choice(name, choices));
    else if (list) opt.argParser(collect);
    else if (kind === 'integer') opt.argParser(parseInteger(name));
    else if (kind === 'number') opt.argParser(parseNumber(name));
    cmd.addOption(opt);
  }
  return cmd
    .option(
      '--config <file>',
      '[string] JSON config file (flags win; "extends": "base.json" starts from another)',
    )
    .option(
      '--set <key=value>',
      `[string] dotted override of any config key, e.g. --set ${example} (repeatable; wins over flags)`,
      collect,
    );
}

/** The config keys the flags in `o` (commander's parsed options) set; flags not given are left out. */
export function flagValues(o: object, flags: readonly ConfigFlag[]): Record<string, unknown> {
  const given = o as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of flags) {
    const opt = new Option(f.flag);
    let v = given[opt.attributeName()];
    // a --no-x flag defaults x to true in commander: only its false was given
    if (v === undefined || (opt.negate && v !== false) || (opt.isBoolean() && !opt.negate && v !== true))
      continue;
    if (f.map) v = f.map(v as string);
    const keys = f.key.split('.');
    let node = out;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]!] = v;
  }
  return out;
}

/**
 * A verb's config: its defaults < `--config` file < its flags < `--set` overrides, parsed by its
 * schema (errors name the dotted key and where it came from); required flags must end up set.
 */
export function resolveVerbConfig<S extends z.ZodType>(
  schema: S,
  defaults: z.infer<S>,
  o: ConfigSources,
  flags: readonly ConfigFlag[],
): z.infer<S> {
  const layers: ConfigLayer[] = [];
  if (o.config) layers.push({ source: o.config, value: loadConfigFile(o.config) });
  layers.push({ source: 'flags', value: flagValues(o, flags) });
  layers.push({ source: '--set', value: parseDottedOverrides(o.set ?? []) });
  const cfg = resolveWithSchema(schema, defaults, layers);
  for (const f of flags) {
    const v = valueAt(cfg, f.key.split('.'));
    if (f.required && (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)))
      throw new FaceMaeError(`${f.flag} is required (or "${f.key}" in --config)`, 'E_CONFIG', { key: f.key });
  }
  return cfg;
}

/**
 * "(default: X)" for a flag's help, read from the library's typed defaults (DEFAULT_TRAIN_MAE,
 * ...): the one place a default is written.
 */
export const byDefault = (value: unknown, note = ''): string =>
  `(default: ${value === null ? 'none' : String(value)}${note})`;
