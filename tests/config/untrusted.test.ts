/** Config values are input: prototype keys, unknown keys and out-of-range values are refused (issue 27). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import {
  checkKnownKeys,
  loadConfigFile,
  mergeConfig,
  parseDottedOverrides,
  resolveConfig,
} from '../../src/config/resolve.js';

const cli = (...args: string[]) =>
  buildProgram()
    .exitOverride()
    .parseAsync(['node', 'facemae', '--quiet', ...args]);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-cfg-'));
const polluted = () => ({}) as Record<string, unknown>;

afterEach(() => {
  // a failing assertion must not leave the pollution behind for the other tests
  for (const k of ['x', 'polluted', 'isWasm']) delete (Object.prototype as Record<string, unknown>)[k];
});

describe('prototype keys', () => {
  it('--set refuses __proto__, constructor and prototype segments and pollutes nothing', () => {
    for (const pair of ['__proto__.x=1', 'a.__proto__.x=1', 'constructor.prototype.x=1', 'a.prototype=1']) {
      expect(() => parseDottedOverrides([pair])).toThrow(/is not allowed in a config/);
    }
    expect(() => parseDottedOverrides(['a={"__proto__":{"x":1}}'])).toThrow(/"__proto__" is not allowed/);
    expect(polluted().x).toBeUndefined();
  });

  it('a config file holding __proto__ at any depth is refused, naming the file', () => {
    const f = path.join(tmp(), 'evil.json');
    fs.writeFileSync(f, '{"model": {"__proto__": {"polluted": true}}}');
    expect(() => loadConfigFile(f)).toThrow(new RegExp(`${f}.*"__proto__" is not allowed`));
    expect(() => resolveConfig({ defaults: { model: { dim: 1 } }, configFile: f })).toThrow(/__proto__/);
    expect(polluted().polluted).toBeUndefined();
  });

  it('merging and key checks look at own keys only', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(() => mergeConfig({ a: 1 }, evil as never)).toThrow(/__proto__/);
    // "constructor" is `in` every object: it must still be an unknown key
    expect(() => checkKnownKeys({ a: 1 }, { toString: 1 })).toThrow(/unknown key "toString"/);
    expect(() => checkKnownKeys({ a: 1 }, JSON.parse('{"constructor": 1}'))).toThrow(/constructor/);
    expect(polluted().polluted).toBeUndefined();
  });

  it('train-mae and demo --set with a prototype key stop before the run', async () => {
    await expect(
      cli('train-mae', '--data', tmp(), '--out', path.join(tmp(), 'run'), '--set', '__proto__.isWasm=1'),
    ).rejects.toThrow(/"__proto__" is not allowed/);
    expect(polluted().isWasm).toBeUndefined();
    const out = path.join(tmp(), 'demo');
    await expect(cli('demo', '--out', out, '--set', 'constructor.prototype.x=1')).rejects.toThrow(
      /"constructor" is not allowed/,
    );
    expect(polluted().x).toBeUndefined();
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('distort --config', () => {
  const data = path.resolve(import.meta.dirname, '../../assets/sample/deploy');
  const run = (config: unknown, ...flags: string[]) => {
    const dir = tmp();
    const f = path.join(dir, 'distort.json');
    fs.writeFileSync(f, JSON.stringify(config));
    const out = path.join(dir, 'out');
    return { out, p: cli('distort', '--data', data, '--out', out, '--config', f, ...flags) };
  };

  it('refuses an unknown key and names it', async () => {
    const { out, p } = run({ method: 'blur', strenght: 8 });
    await expect(p).rejects.toThrow(/unknown key "strenght" in .*distort\.json/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it("puts file values through the flags' checks", async () => {
    for (const [cfg, msg] of [
      [{ seed: -1 }, /seed must be an integer in \[0, 4294967295\], got -1/],
      [{ seed: 1e300 }, /seed in .*distort\.json must be an integer below 2\^53, got 1e\+300/],
      [{ seed: 1.5 }, /seed in .*distort\.json must be an integer, got 1.5/],
      [{ method: 'blur', strength: 1e300 }, /blur sigma \(strength\) must be a number in \[0, 1000\]/],
      [
        { method: 'pixelate', strength: 1e300 },
        /pixelate block size \(strength\) must be an integer in \[1, 4096\]/,
      ],
      [{ strength: '0.5' }, /strength in .*distort\.json must be a number, got "0.5"/],
      [{ method: 'smudge' }, /method in .*distort\.json must be one of mask, blur, .*, got "smudge"/],
      [{ fill: 300 }, /fill must be an integer in \[0, 255\], got 300/],
      [{ size: 1e9 }, /size must be an integer in \[1, 8192\]/],
      [{ allowNoProtection: 'yes' }, /allowNoProtection in .* must be true or false, got "yes"/],
    ] as const) {
      const { out, p } = run(cfg);
      await expect(p, JSON.stringify(cfg)).rejects.toThrow(msg);
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it('--seed -1 on the command line is refused the same way', async () => {
    const out = path.join(tmp(), 'out');
    await expect(cli('distort', '--data', data, '--out', out, '--seed', '-1')).rejects.toThrow(
      /seed must be an integer in \[0, 4294967295\], got -1/,
    );
  });
});

describe('config files of the other dataset verbs', () => {
  const write = (config: unknown) => {
    const dir = tmp();
    const f = path.join(dir, 'c.json');
    fs.writeFileSync(f, JSON.stringify(config));
    return { dir, f };
  };

  it('reconstruct and align refuse a value of the wrong type, naming key and file', async () => {
    const data = path.resolve(import.meta.dirname, '../../assets/sample/deploy');
    const model = path.resolve(import.meta.dirname, '../../assets/models/facemae-tiny');
    let { dir, f } = write({ seed: '1' });
    await expect(
      cli('reconstruct', '--model', model, '--data', data, '--out', path.join(dir, 'o'), '--config', f),
    ).rejects.toThrow(new RegExp(`seed in ${f} must be a number, got "1"`));
    expect(fs.existsSync(path.join(dir, 'o'))).toBe(false);
    ({ dir, f } = write({ threads: [2] }));
    await expect(cli('align', '--data', data, '--out', path.join(dir, 'o'), '--config', f)).rejects.toThrow(
      /threads in .* must be a number, got \[2\]/,
    );
    ({ dir, f } = write({ batchSize: 1e300 }));
    await expect(
      cli('reconstruct', '--model', model, '--data', data, '--out', path.join(dir, 'o'), '--config', f),
    ).rejects.toThrow(/batchSize in .*c\.json must be an integer below 2\^53, got 1e\+300/);
    expect(fs.existsSync(path.join(dir, 'o'))).toBe(false);
  });
});
