import { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerInspect } from '../../src/cli/commands/inspect.js';
import { registerPack } from '../../src/cli/commands/pack.js';
import { listImageFolder } from '../../src/data/image-folder.js';
import { makeToyFolder, tmpDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs `facemae <args>` with just the data verbs; returns stdout and stderr. */
async function run(args: string[]): Promise<{ out: string; err: string }> {
  const program = new Command('facemae')
    .option('-q, --quiet')
    .option('--json')
    .option('-v, --verbose')
    .exitOverride();
  registerPack(program);
  registerInspect(program);
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    await program.parseAsync(['node', 'facemae', ...args]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { out, err };
}

describe('facemae pack / inspect', () => {
  let root: string;
  beforeAll(async () => {
    root = await makeToyFolder(path.join(tmpDir(), 'set'), { ids: 2, perId: 3, size: 10 });
  });
  afterEach(() => vi.restoreAllMocks());

  it('packs, refuses to overwrite, and unpacks', async () => {
    const prefix = path.join(tmpDir(), 'out', 'train');
    const r = await run(['pack', '--data', root, '--out', prefix, '--quiet']);
    expect(r.out).toMatch(
      new RegExp(
        `^packed 6 images of 2 identities into ${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.rec`,
      ),
    );
    await expect(run(['pack', '--data', root, '--out', prefix])).rejects.toThrow(
      `${prefix}.rec already exists: pass --overwrite to replace it, or choose another --out`,
    );
    const j = JSON.parse((await run(['pack', '--data', root, '--out', prefix, '--overwrite', '--json'])).out);
    expect(j).toMatchObject({ images: 6, identities: 2, rec: `${prefix}.rec` });
    const dir = path.join(tmpDir(), 'unpacked');
    const u = JSON.parse(
      (await run(['pack', '--unpack', '--data', `${prefix}.rec`, '--out', dir, '--json'])).out,
    );
    expect(u).toMatchObject({ images: 6, identities: 2 });
    expect((await listImageFolder(dir)).identities).toEqual(['id0', 'id1']);
    await expect(run(['pack', '--out', prefix])).rejects.toThrow('pack needs --data');
  });

  it('inspects a folder, a .rec, a .bin and a pairs folder', async () => {
    const f = JSON.parse((await run(['inspect', root, '--json'])).out);
    expect(f).toMatchObject({
      kind: 'folder',
      images: 6,
      identities: 2,
      sizes: { '10x10': 6 },
      formats: { png: 6 },
    });
    expect(f.imagesPerIdentity).toEqual({ min: 3, median: 3, max: 3 });
    const prefix = path.join(tmpDir(), 'train');
    await run(['pack', '--data', root, '--out', prefix, '--quiet']);
    const rec = JSON.parse((await run(['inspect', `${prefix}.rec`, '--json'])).out);
    expect(rec).toMatchObject({ kind: 'recordio', images: 6, identities: 2, sizes: { '10x10': 6 } });
    const bin = JSON.parse(
      (await run(['inspect', path.join(ROOT, 'tests/fixtures/bin/bytes_p4.bin'), '--json'])).out,
    );
    expect(bin).toMatchObject({
      kind: 'bin',
      images: 4,
      pairs: 2,
      same: 1,
      different: 1,
      sizes: { '32x32': 4 },
    });
    const text = (await run(['inspect', path.join(ROOT, 'assets/sample/verify')])).out;
    expect(text).toContain('pairs: 200 (100 same, 100 different) in 10 fold(s)');
    expect(text).toMatch(/sizes \(\d+ sampled\): 112x112 ×\d+/);
    await expect(run(['inspect', path.join(root, 'missing')])).rejects.toThrow(
      `${path.join(root, 'missing')} does not exist`,
    );
    const empty = tmpDir();
    fs.mkdirSync(path.join(empty, 'a'));
    await expect(run(['inspect', empty])).rejects.toThrow(`image folder ${empty} contains no images`);
  });
});
