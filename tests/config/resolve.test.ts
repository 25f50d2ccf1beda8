import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  mergeConfig,
  parseDottedOverrides,
  resolveConfig,
  saveResolvedConfig,
} from '../../src/config/resolve.js';

const defaults = { model: { dim: 192, depth: 12 }, lr: 1e-3, sets: ['lfw'] as string[] };

describe('resolveConfig', () => {
  it('applies defaults < file < flags', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ model: { depth: 4 }, lr: 0.1 }));
    const cfg = resolveConfig({ defaults, configFile: file, flags: { lr: 0.5, model: { dim: undefined } } });
    expect(cfg).toEqual({ model: { dim: 192, depth: 4 }, lr: 0.5, sets: ['lfw'] });
    expect(defaults.model.depth).toBe(12);
  });

  it('refuses unknown keys and names them', () => {
    expect(() => resolveConfig({ defaults, fileConfig: { model: { dept: 3 } } as never })).toThrow(
      /model\.dept/,
    );
  });

  it('names a missing or malformed config file', () => {
    expect(() => resolveConfig({ defaults, configFile: '/nope/x.json' })).toThrow(/\/nope\/x\.json/);
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-')), 'bad.json');
    fs.writeFileSync(f, '{ nope');
    expect(() => resolveConfig({ defaults, configFile: f })).toThrow(/bad\.json is not a valid JSON/);
  });

  it('arrays replace rather than merge; dotted overrides parse JSON values', () => {
    expect(mergeConfig(defaults, { sets: ['cfp_fp'] }).sets).toEqual(['cfp_fp']);
    expect(parseDottedOverrides(['model.depth=3', 'name=run1', 'sets=["a","b"]'])).toEqual({
      model: { depth: 3 },
      name: 'run1',
      sets: ['a', 'b'],
    });
    expect(() => parseDottedOverrides(['novalue'])).toThrow(/novalue/);
  });

  it('saves the resolved config with the version', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const file = saveResolvedConfig(dir, 'train-mae', defaults);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(saved.command).toBe('train-mae');
    expect(saved.config).toEqual(defaults);
    expect(saved.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
