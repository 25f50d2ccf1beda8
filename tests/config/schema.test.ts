/** The config schemas: strict keys, typed values, errors that name the dotted field and its source. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/resolve.js';
import { deepPartial, parseConfig, resolveWithSchema, z } from '../../src/config/schema.js';
import { TRAIN_FR_SCHEMA, TRAIN_MAE_SCHEMA } from '../../src/config/trainers.js';
import { FaceMaeError } from '../../src/core/errors.js';
import { DEFAULT_TRAIN_MAE } from '../../src/train/pretrain-mae.js';
import { DEFAULT_TRAIN_FR, type TrainFrConfig } from '../../src/train/train-face.js';

const S = z.strictObject({
  n: z.number().int().positive(),
  mode: z.enum(['a', 'b']),
  list: z.array(z.strictObject({ method: z.string(), strength: z.number() })),
  sub: z.strictObject({ x: z.number().nullable() }),
});
const D: z.infer<typeof S> = { n: 1, mode: 'a', list: [], sub: { x: null } };

const errorOf = (f: () => unknown): FaceMaeError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FaceMaeError);
    return e as FaceMaeError;
  }
  throw new Error('no error');
};

describe('parseConfig / resolveWithSchema', () => {
  it('refuses an unknown key, naming the dotted key, its source and the known keys', () => {
    const e = errorOf(() => resolveWithSchema(S, D, [{ source: 'c.json', value: { sub: { y: 1 } } }]));
    expect(e.message).toBe('unknown key "sub.y" in c.json; known in sub: x');
    expect(e.code).toBe('E_CONFIG');
    expect(e.key).toBe('sub.y');
  });

  it('checks the keys of array elements (a typo is not a step "blur-undefined")', () => {
    const e = errorOf(() =>
      resolveWithSchema(S, D, [{ source: 'sweep.json', value: { list: [{ method: 'blur', strenght: 4 }] } }]),
    );
    expect(e.message).toMatch(
      /^unknown key "list\[0\]\.strenght" in sweep\.json; known in list\[0\]: method, strength/,
    );
    expect(e.key).toBe('list[0].strenght');
    // and their required keys
    expect(() => parseConfig(S, { ...D, list: [{ method: 'blur' }] })).toThrow(
      /list\[0\]\.strength is missing/,
    );
  });

  it('names the field, the layer that set it and the value for a bad type or value', () => {
    const layers = [
      { source: 'c.json', value: { n: 2 } },
      { source: '--set', value: { mode: 'c' } },
    ];
    expect(() => resolveWithSchema(S, D, layers)).toThrow('mode in --set must be one of a, b, got "c"');
    expect(() => resolveWithSchema(S, D, [{ source: 'c.json', value: { n: '2' } }])).toThrow(
      'n in c.json must be a number, got "2"',
    );
    expect(() => resolveWithSchema(S, D, [{ source: 'flags', value: { n: 1.5 } }])).toThrow(
      'n in flags must be an integer, got 1.5',
    );
    expect(() => resolveWithSchema(S, D, [{ source: 'flags', value: { n: 0 } }])).toThrow(
      'n in flags must be > 0, got 0',
    );
    // null only where the type takes it
    expect(resolveWithSchema(S, D, [{ source: 'c', value: { sub: { x: 3 } } }]).sub.x).toBe(3);
    expect(() => resolveWithSchema(S, D, [{ source: 'c', value: { n: null } }])).toThrow(/n in c must be/);
  });

  it('keeps defaults < file < flags < --set, and does not touch the defaults', () => {
    const cfg = resolveWithSchema(S, D, [
      { source: 'file', value: { n: 2, sub: { x: 1 } } },
      { source: 'flags', value: { n: 3 } },
      { source: '--set', value: { mode: 'b' } },
    ]);
    expect(cfg).toEqual({ n: 3, mode: 'b', list: [], sub: { x: 1 } });
    expect(D.n).toBe(1);
  });

  it('refuses prototype keys in any layer', () => {
    const evil = JSON.parse('{"sub": {"__proto__": {"x": 1}}}') as unknown;
    expect(() => resolveWithSchema(S, D, [{ source: 'e.json', value: evil }])).toThrow(
      /"__proto__" is not allowed/,
    );
  });

  it('deepPartial: every key optional at every depth, still strict', () => {
    const P = deepPartial(S);
    expect(P.safeParse({ sub: {} }).success).toBe(true);
    expect(P.safeParse({ sub: null }).success).toBe(false);
    expect(() => parseConfig(P, { sub: { y: 1 } })).toThrow(/unknown key "sub\.y"/);
    expect(() => parseConfig(P, { n: 'x' })).toThrow(/n must be a number/);
  });
});

describe('the trainer schemas', () => {
  const FR: z.ZodType<TrainFrConfig> = TRAIN_FR_SCHEMA;
  it("accept the library's defaults (no key of TrainMaeConfig / TrainFrConfig is missing)", () => {
    expect(TRAIN_MAE_SCHEMA.safeParse(DEFAULT_TRAIN_MAE).error).toBeUndefined();
    expect(TRAIN_FR_SCHEMA.safeParse(DEFAULT_TRAIN_FR).error).toBeUndefined();
  });

  it('check values: enums, integers, nullability', () => {
    const bad = (v: object) => () => resolveWithSchema(FR, DEFAULT_TRAIN_FR, [{ source: 'f', value: v }]);
    expect(bad({ backbone: 'r19' })).toThrow(/backbone in f must be one of r18, .*, got "r19"/);
    expect(bad({ optimizer: 'adam' })).toThrow(/optimizer in f must be one of sgd, adamw/);
    expect(bad({ batchSize: 1.5 })).toThrow(/batchSize in f must be an integer/);
    expect(bad({ margin: { m4: 1 } })).toThrow(/unknown key "margin\.m4"/);
    expect(
      resolveWithSchema(FR, DEFAULT_TRAIN_FR, [{ source: 'f', value: { steps: null } }]).steps,
    ).toBeNull();
  });
});

describe('config files: "extends"', () => {
  const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-ext-'));
  const write = (d: string, name: string, v: unknown) => {
    fs.writeFileSync(path.join(d, name), JSON.stringify(v));
    return path.join(d, name);
  };

  it('merges the base under the file: objects merge, arrays and scalars replace', () => {
    const d = dir();
    write(d, 'base.json', { a: 1, obj: { x: 1, y: 2 }, list: [1, 2] });
    write(d, 'mid.json', { extends: 'base.json', obj: { y: 3 } });
    const f = write(d, 'top.json', { extends: 'mid.json', list: [9] });
    expect(loadConfigFile(f)).toEqual({ a: 1, obj: { x: 1, y: 3 }, list: [9] });
  });

  it('refuses a cycle, a missing base and a base in another folder, naming the files', () => {
    const d = dir();
    const a = write(d, 'a.json', { extends: 'b.json' });
    write(d, 'b.json', { extends: 'a.json' });
    expect(() => loadConfigFile(a)).toThrow(
      /extend each other in a cycle: .*a\.json -> .*b\.json -> .*a\.json/,
    );
    const s = write(d, 's.json', { extends: 's.json' });
    expect(() => loadConfigFile(s)).toThrow(/cycle/);
    const m = write(d, 'm.json', { extends: 'nope.json' });
    expect(() => loadConfigFile(m)).toThrow(/config file not found: .*nope\.json \(extended by .*m\.json\)/);
    const o = write(d, 'o.json', { extends: '../base.json' });
    expect(() => loadConfigFile(o)).toThrow(
      /"extends" in .*o\.json must name a config file in the same folder/,
    );
    const n = write(d, 'n.json', { extends: 3 });
    expect(() => loadConfigFile(n)).toThrow(/"extends" .* got 3/);
  });
});
