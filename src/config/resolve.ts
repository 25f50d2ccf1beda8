/**
 * Config precedence, as in Vite's resolveConfig: typed defaults < config file < flags.
 * The verbs resolve through their schemas (schema.ts: resolveWithSchema, which merges with
 * mergeConfig and checks keys and values); `resolveConfig` is the schema-less form for library
 * users. The result is saved with the run's outputs by `saveResolvedConfig`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { writeJsonAtomic } from '../core/fs.js';
import { VERSION } from '../version.js';

export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Key names that reach Object.prototype through plain-object assignment or lookup. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Refuses a config key that would pollute or read Object.prototype; `where` names the source. */
export function checkKeySegment(key: string, where: string): void {
  if (FORBIDDEN_KEYS.has(key)) {
    throw new FaceMaeError(
      `${where}: key "${key}" is not allowed in a config (it would reach Object.prototype)`,
      'E_CONFIG',
      { key },
    );
  }
}

/** Walks parsed JSON refusing forbidden keys at any depth (JSON.parse keeps "__proto__" as an own key). */
export function checkConfigKeys(value: unknown, source: string, where = ''): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkConfigKeys(v, source, `${where}[${i}]`));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    checkKeySegment(k, where ? `${source} at ${where}` : source);
    checkConfigKeys(v, source, where ? `${where}.${k}` : k);
  }
}

/** Deep-merges `override` onto `base`: objects merge, arrays and scalars replace, undefined is skipped. */
export function mergeConfig<T>(base: T, override: DeepPartial<T> | undefined): T {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (v === undefined) continue;
    checkKeySegment(k, 'config');
    out[k] = Object.hasOwn(base, k) ? mergeConfig((base as Record<string, unknown>)[k], v as never) : v;
  }
  return out as T;
}

/**
 * Reads a JSON config file; errors name the file. A file may start from another with
 * `"extends": "base.json"` (a file beside it, so relative paths inside both mean the same):
 * base < this file, merged as mergeConfig does; a cycle is refused.
 */
export function loadConfigFile(file: string, chain: readonly string[] = []): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new FaceMaeError(
      `config file not found: ${file}${chain.length ? ` (extended by ${chain[chain.length - 1]})` : ''}`,
      'E_CONFIG',
    );
  }
  let v: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isPlainObject(parsed)) throw new Error('top level must be an object');
    checkConfigKeys(parsed, `config file ${file}`);
    v = parsed;
  } catch (e) {
    if (e instanceof FaceMaeError) throw e;
    throw new FaceMaeError(
      `config file ${file} is not a valid JSON object: ${(e as Error).message}`,
      'E_CONFIG',
    );
  }
  if (!Object.hasOwn(v, 'extends')) return v;
  const { extends: base, ...own } = v;
  if (typeof base !== 'string' || base === '' || path.basename(base) !== base)
    throw new FaceMaeError(
      `"extends" in ${file} must name a config file in the same folder (e.g. "base.json"), got ${JSON.stringify(base)}`,
      'E_CONFIG',
      { key: 'extends' },
    );
  const self = path.resolve(file);
  const next = path.join(path.dirname(self), base);
  if (next === self || chain.includes(next))
    throw new FaceMaeError(
      `config files extend each other in a cycle: ${[...chain, self, next].join(' -> ')}`,
      'E_CONFIG',
      { key: 'extends' },
    );
  return mergeConfig(loadConfigFile(next, [...chain, self]), own);
}

/** Flags given as `--set a.b.c=value` (value parsed as JSON when it parses, else kept as a string). */
export function parseDottedOverrides(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new FaceMaeError(`--set expects key=value, got "${pair}"`, 'E_CONFIG');
    const keys = pair.slice(0, eq).split('.');
    for (const k of keys) checkKeySegment(k, `--set ${pair}`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a bare string */
    }
    checkConfigKeys(value, `--set ${pair}`);
    let node = out;
    keys.slice(0, -1).forEach((k) => {
      if (!Object.hasOwn(node, k) || !isPlainObject(node[k])) node[k] = {};
      node = node[k] as Record<string, unknown>;
    });
    node[keys[keys.length - 1] as string] = value;
  }
  return out;
}

/**
 * Unknown keys are refused (a typo in a config file should not be ignored silently).
 * `where` is the dotted position (internal to the recursion); `source` names the file or flag
 * the value came from (default 'config').
 */
export function checkKnownKeys(defaults: unknown, value: unknown, where = '', source = 'config'): void {
  if (!isPlainObject(defaults) || !isPlainObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    const key = where ? `${where}.${k}` : k;
    checkKeySegment(k, source);
    if (!Object.hasOwn(defaults, k)) {
      throw new FaceMaeError(
        `unknown key "${key}" in ${source}; known${where ? ` in ${where}` : ''}: ${Object.keys(defaults).join(', ')}`,
        'E_CONFIG',
        { key },
      );
    }
    checkKnownKeys(defaults[k], v, key, source);
  }
}

export interface ResolveOptions<T> {
  defaults: T;
  /** Path given with --config, if any. */
  configFile?: string;
  /** Already-parsed file contents (used instead of configFile when given). */
  fileConfig?: DeepPartial<T>;
  flags?: DeepPartial<T>;
  /** When true (default), keys not present in `defaults` (or `keys`) are an error. */
  strict?: boolean;
  /** The allowed keys when they differ from `defaults`' (e.g. partial sections checked against their owner's defaults). */
  keys?: unknown;
}

/** defaults < file < flags. */
export function resolveConfig<T>(opts: ResolveOptions<T>): T {
  const file =
    opts.fileConfig ?? (opts.configFile ? (loadConfigFile(opts.configFile) as DeepPartial<T>) : undefined);
  checkConfigKeys(file, opts.configFile ?? 'config');
  checkConfigKeys(opts.flags, 'flags');
  if (opts.strict !== false) {
    checkKnownKeys(opts.keys ?? opts.defaults, file, '', opts.configFile ?? 'config');
    checkKnownKeys(opts.keys ?? opts.defaults, opts.flags, '', 'flags');
  }
  return mergeConfig(mergeConfig(opts.defaults, file), opts.flags);
}

/** Writes `<dir>/config.json`: the resolved config plus what is needed to reproduce the run. */
export function saveResolvedConfig(dir: string, command: string, config: unknown): string {
  const file = path.join(dir, 'config.json');
  writeJsonAtomic(file, {
    command,
    version: VERSION,
    node: process.version,
    createdAt: new Date().toISOString(),
    config,
  });
  return file;
}
