/** Every verb: flags from its schema, `--config <file>` and a dotted `--set key=value`, checked before any work. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { runInProcess } from '../support/run-cli.js';
import { BACKBONE_NAMES } from '../../src/models/backbones/index.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-flags-'));

const run = (args: string[]) => runInProcess(['--quiet', ...args]);

/** The least each verb needs to get as far as resolving its config. */
const MINIMAL: Record<string, string[]> = {
  demo: ['--out', path.join(tmp(), 'demo')],
  sweep: ['--config', path.join(root, 'configs/demo.json'), '--out', path.join(tmp(), 'sweep')],
  inspect: [path.join(root, 'assets/sample/verify')],
};

describe('every verb takes --config and a dotted --set', () => {
  const verbs = buildProgram().commands;

  it('declares both', () => {
    expect(verbs.length).toBe(14);
    for (const v of verbs) {
      const longs = v.options.map((o) => o.long);
      expect(longs, v.name()).toContain('--config');
      expect(longs, v.name()).toContain('--set');
    }
  });

  it('refuses an unknown --set key, naming it, before doing anything', async () => {
    for (const v of verbs) {
      const args = [v.name(), ...(MINIMAL[v.name()] ?? []), '--set', 'bogusKey=1'];
      await expect(run(args), v.name()).rejects.toThrow(/unknown key "bogusKey" in --set/);
    }
  });

  it('a --set value is taken, through the same checks as a flag', async () => {
    const sample = path.join(root, 'assets/sample/verify');
    const doc = JSON.parse(
      await run(['--json', 'inspect', sample, '--sample', '5', '--set', 'sample=0']),
    ) as {
      images: number;
    };
    expect(doc.images).toBeGreaterThan(0);
    await expect(run(['inspect', sample, '--set', 'sample=-1'])).rejects.toThrow(
      /sample in --set must be >= 0, got -1/,
    );
    await expect(run(['web', '--set', 'port="80"'])).rejects.toThrow(
      /port in --set must be a number, got "80"/,
    );
  });

  it('takes a config file that extends a base, checking what the chain holds', async () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'base.json'), JSON.stringify({ unpack: 'yes' }));
    fs.writeFileSync(path.join(d, 'c.json'), JSON.stringify({ extends: 'base.json' }));
    await expect(
      run(['pack', '--data', d, '--out', path.join(d, 'o'), '--config', path.join(d, 'c.json')]),
    ).rejects.toThrow(/unpack in .*c\.json must be true or false, got "yes"/);
  });
});

describe('help lists only accepted values', () => {
  const help = (verb: string) =>
    buildProgram()
      .commands.find((c) => c.name() === verb)!
      .helpInformation();

  it("privacy's attackers are the accepted keywords", () => {
    expect(help('privacy').replace(/\s+/g, ' ')).toMatch(/MODEL: mobileface \| faceres \| faceplugin/);
    expect(help('privacy')).not.toMatch(/mobilefacenet/);
  });

  it('enum flags list their schema’s values, and refuse the rest by name', async () => {
    expect(help('train-fr').replace(/\s+/g, ' ')).toContain(BACKBONE_NAMES.join(' | '));
    expect(help('align').replace(/\s+/g, ' ')).toContain('largest | central');
    await expect(run(['align', '--pick', 'biggest'])).rejects.toThrow(
      /--pick must be one of largest, central, got "biggest"/,
    );
  });
});
