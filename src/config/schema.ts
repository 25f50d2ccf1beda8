/**
 * Config schemas (zod 4): one strict schema per verb gives its TypeScript type (`z.infer`), the
 * keys a config may hold, and the type and value of each. The typed defaults stay the library's
 * `DEFAULT_*` objects (the one place a default is written); a command resolves
 * defaults < `--config` file < flags < `--set` with mergeConfig and parses the result once here,
 * so an error names the dotted field (`baselines[0].strenght`) and where it came from.
 */
import { z } from 'zod';
import { FaceMaeError } from '../core/errors.js';
import { checkConfigKeys, mergeConfig, type DeepPartial } from './resolve.js';

export { z };

/** One layer of a resolved config and what to call it in an error (a file path, 'flags', '--set'). */
export interface ConfigLayer {
  source: string;
  value: unknown;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `a.b[0].c`, the spelling errors and `--set` use. */
export function dottedKey(p: readonly PropertyKey[]): string {
  return p.reduce<string>(
    (s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)),
    '',
  );
}

/** The layer that set `p`, the last one holding it (an array comes whole from one layer). */
function sourceOf(p: readonly PropertyKey[], layers: readonly ConfigLayer[]): string | undefined {
  for (const layer of [...layers].reverse()) {
    let v: unknown = layer.value;
    let found = true;
    for (const k of p) {
      if (Array.isArray(v)) break;
      if (!isPlainObject(v) || !Object.hasOwn(v, k as string)) {
        found = false;
        break;
      }
      v = v[k as string];
    }
    if (found) return layer.source;
  }
  return undefined;
}

/** The value at a path of a parsed config (undefined when absent). */
export const valueAt = (root: unknown, p: readonly PropertyKey[]): unknown =>
  p.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], root);

/** Unwraps optional / nullable / default / readonly wrappers. */
export function unwrapSchema(s: z.ZodType): z.ZodType {
  let cur = s;
  while (
    cur instanceof z.ZodOptional ||
    cur instanceof z.ZodNullable ||
    cur instanceof z.ZodDefault ||
    cur instanceof z.ZodReadonly
  )
    cur = cur.unwrap() as z.ZodType;
  return cur;
}

/** The schema at a path (array indices step into the element; a union into its object branch). */
export function schemaAt(s: z.ZodType, p: readonly PropertyKey[]): z.ZodType | undefined {
  let cur: z.ZodType | undefined = s;
  for (const k of p) {
    cur = cur && unwrapSchema(cur);
    if (cur instanceof z.ZodUnion)
      cur = (cur.options as z.ZodType[]).find((o) => unwrapSchema(o) instanceof z.ZodObject);
    cur = cur && unwrapSchema(cur);
    if (cur instanceof z.ZodArray && typeof k === 'number') cur = cur.element as z.ZodType;
    else if (cur instanceof z.ZodObject && typeof k === 'string')
      cur = (cur.shape as Record<string, z.ZodType>)[k];
    else return undefined;
  }
  return cur;
}

const EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  null: 'null',
};

/** One zod issue as a sentence naming the field, where it came from and the value given. */
function describeIssue(
  issue: z.core.$ZodIssue,
  root: z.ZodType,
  value: unknown,
  layers: readonly ConfigLayer[],
): { message: string; key: string } {
  const at = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const key = dottedKey([...at, issue.keys[0]!]);
    const where = dottedKey(at);
    const obj = schemaAt(root, at);
    const known = obj instanceof z.ZodObject ? Object.keys(obj.shape as object).join(', ') : '';
    const src = sourceOf([...at, issue.keys[0]!], layers) ?? 'config';
    return {
      key,
      message: `unknown key "${key}" in ${src}${known ? `; known${where ? ` in ${where}` : ''}: ${known}` : ''}`,
    };
  }
  if (issue.code === 'invalid_union') {
    // the branch that got furthest says the most (an object with a bad key, not "not a string")
    const branches = issue.errors.filter((b) => b.length > 0);
    const best = branches.sort((a, b) => b[0]!.path.length - a[0]!.path.length)[0];
    if (best && best[0]!.path.length > 0)
      return describeIssue(
        { ...best[0]!, path: [...at, ...best[0]!.path] } as z.core.$ZodIssue,
        root,
        value,
        layers,
      );
  }
  const key = dottedKey(at);
  const src = sourceOf(at, layers);
  const got = valueAt(value, at);
  const head = `${key || 'config'}${src ? ` in ${src}` : ''}`;
  const shown = got === undefined ? 'nothing' : JSON.stringify(got);
  let must: string;
  switch (issue.code) {
    case 'invalid_type':
      if (got === undefined) return { key, message: `${head} is missing` };
      must = `be ${EXPECTED[issue.expected] ?? issue.expected}`;
      break;
    case 'invalid_value':
      must = `be one of ${issue.values.map(String).join(', ')}`;
      break;
    case 'too_small':
      must =
        issue.origin === 'array' || issue.origin === 'string'
          ? `not be empty`
          : `be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
      break;
    case 'too_big':
      if (issue.origin === 'int' && issue.maximum === Number.MAX_SAFE_INTEGER) {
        must = 'be an integer below 2^53';
        break;
      }
      must =
        issue.origin === 'array' || issue.origin === 'string'
          ? `hold at most ${String(issue.maximum)}`
          : `be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
      break;
    case 'invalid_union': {
      const kinds = [
        ...new Set(
          issue.errors.flatMap((b) =>
            b.map((i) => (i.code === 'invalid_type' ? EXPECTED[i.expected] : undefined)),
          ),
        ),
      ].filter(Boolean);
      must = kinds.length ? `be ${kinds.join(' or ')}` : 'be valid';
      break;
    }
    default:
      must = issue.message;
  }
  return { key, message: `${head} must ${must}, got ${shown}` };
}

/**
 * Checks `value` against `schema`; the first problem is thrown as a FaceMaeError (E_CONFIG) whose
 * message names the dotted key and the layer it came from, and whose `key` is that dotted key.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  value: unknown,
  layers: readonly ConfigLayer[] = [],
): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  // an unknown key first: a typo'd key also leaves the real one missing
  const issue = r.error.issues.find((i) => i.code === 'unrecognized_keys') ?? r.error.issues[0]!;
  const { message, key } = describeIssue(issue, schema, value, layers);
  throw new FaceMaeError(message, 'E_CONFIG', { key });
}

/**
 * The same schema with every key optional at every depth: a section merged later onto its
 * owner's defaults (the sweep's `mae.train` is a partial train-mae config). Still strict.
 */
export function deepPartial<T>(s: z.ZodType<T>): z.ZodType<DeepPartial<T>> {
  return partialOf(s) as z.ZodType<DeepPartial<T>>;
}

function partialOf(s: z.ZodType): z.ZodType {
  const inner = unwrapSchema(s);
  if (!(inner instanceof z.ZodObject)) return s;
  const shape = Object.fromEntries(
    Object.entries(inner.shape as Record<string, z.ZodType>).map(([k, v]) => {
      const p = partialOf(v);
      // an object section that may be null stays nullable
      return [k, (p !== v && v.safeParse(null).success ? p.nullable() : p).optional()];
    }),
  );
  return z.strictObject(shape);
}

/**
 * defaults < each layer in turn (file, flags, `--set`), merged as mergeConfig does (objects merge,
 * arrays and scalars replace), then parsed by `schema`: the resolved config, typed.
 */
export function resolveWithSchema<S extends z.ZodType>(
  schema: S,
  defaults: z.infer<S>,
  layers: readonly ConfigLayer[],
): z.infer<S> {
  let merged: unknown = defaults;
  for (const l of layers) {
    checkConfigKeys(l.value, l.source);
    merged = mergeConfig(merged, l.value as never);
  }
  return parseConfig(schema, merged, layers);
}

/** Building blocks, so every schema says "integer" and "path" the same way. */
export const num = () => z.number();
export const int = () => z.number().int();
export const posInt = () => z.number().int().positive();
export const nonNegInt = () => z.number().int().nonnegative();
/** A path or model spec; '' means "not given" where a verb has no default. */
export const str = () => z.string();
export const strList = () => z.array(z.string());
