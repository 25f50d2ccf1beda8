/**
 * Fuzz over every file format read from disk: .rec/.idx, .names, .bin (pickle), pairs.txt and
 * image headers. Seeded mutations of valid files (byte flips, truncations, huge lengths and
 * counts written into headers, random bytes): every case must either parse or fail with a
 * FaceMaeError carrying a message, never another exception, a crash or a hang. Sized to run in a
 * few seconds; the seed makes any failure reproducible.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaceMaeError } from '../../src/core/errors.js';
import { createRng, type Rng } from '../../src/core/rng.js';
import { parseBin } from '../../src/data/bin-file.js';
import { decodeImage, encodeImage } from '../../src/data/image-folder.js';
import { parseLfwPairs } from '../../src/data/pairs.js';
import { openRecordIO, packImageFolder } from '../../src/data/recordio.js';
import { makeToyFolder, patternImage, tmpDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CASES = 60;

/** Runs `f`; a FaceMaeError with a message is fine, anything else fails the case (named). */
async function expectNamedOrOk(label: string, f: () => unknown): Promise<'ok' | 'refused'> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof FaceMaeError) || !e.message) {
      throw new Error(`${label}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, {
        cause: e,
      });
    }
    return 'refused';
  }
}

/** One seeded mutation of `src`: flips, truncation, a huge u32 at a random aligned spot, or garbage. */
function mutate(src: Uint8Array, rng: Rng): Uint8Array {
  const kind = rng.int(5);
  const b = Uint8Array.from(src);
  if (kind === 0) {
    for (let k = 0, n = 1 + rng.int(8); k < n; k++) b[rng.int(b.length)] = rng.int(256);
    return b;
  }
  if (kind === 1) return b.subarray(0, rng.int(b.length));
  if (kind === 2 && b.length >= 8) {
    const at = rng.int(Math.floor(b.length / 4) - 1) * 4;
    const huge = [0xffffffff, 0x1fffffff, 0x7fffffff, 0x05f5e101, 0x4cbebc20][rng.int(5)]!;
    new DataView(b.buffer).setUint32(at, huge, true);
    return b;
  }
  if (kind === 3) return Uint8Array.from({ length: rng.int(64) }, () => rng.int(256));
  // splice a run of random bytes into the middle
  const at = rng.int(b.length);
  const junk = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
  const out = new Uint8Array(b.length + junk.length);
  out.set(b.subarray(0, at));
  out.set(junk, at);
  out.set(b.subarray(at), at + junk.length);
  return out;
}

let rec = '';
let idx = '';
let names = '';
beforeAll(async () => {
  const root = await makeToyFolder(path.join(tmpDir(), 'set'), { ids: 2, perId: 2, size: 8 });
  const prefix = path.join(tmpDir(), 'train');
  await packImageFolder(root, prefix);
  [rec, idx, names] = [`${prefix}.rec`, `${prefix}.idx`, `${prefix}.names`].map((f) =>
    fs.readFileSync(f, 'latin1'),
  ) as [string, string, string];
});

/** Writes a .rec set (rec, idx, names may be undefined = absent) and opens and reads it all. */
async function readRecSet(files: { rec: Uint8Array; idx?: string; names?: string }): Promise<void> {
  const prefix = path.join(tmpDir('facemae-fuzz-'), 'train');
  fs.writeFileSync(`${prefix}.rec`, files.rec);
  if (files.idx !== undefined) fs.writeFileSync(`${prefix}.idx`, files.idx, 'latin1');
  if (files.names !== undefined) fs.writeFileSync(`${prefix}.names`, files.names, 'latin1');
  const src = await openRecordIO(`${prefix}.rec`);
  try {
    for (let i = 0; i < src.length; i++) {
      src.record(i);
      await src.readEncoded(i);
    }
  } finally {
    await src.close();
  }
}

describe('fuzz: every damaged file is parsed or refused with a named error', () => {
  it('.rec records and headers', async () => {
    const rng = createRng(15).fork('rec');
    const good = Buffer.from(rec, 'latin1');
    const seen = new Set<string>();
    for (let c = 0; c < CASES; c++) {
      let bytes = mutate(good, rng);
      if (c % 3 === 0) {
        // record 0's [images end, identities end] labels (payload offset 24, 28) set to hostile counts
        bytes = Uint8Array.from(good);
        const huge = [1e8, 3e9, NaN, -5, 1e30, 0, 2 ** 31][rng.int(7)]!;
        new DataView(bytes.buffer).setFloat32(8 + 24 + 4 * rng.int(2), huge, true);
      }
      const r = await expectNamedOrOk(`rec case ${c}`, () =>
        readRecSet({ rec: bytes, idx: rng.next() < 0.5 ? idx : undefined, names }),
      );
      seen.add(r);
    }
    expect(seen.has('refused')).toBe(true);
  });

  it('.idx lines and offsets', async () => {
    const rng = createRng(15).fork('idx');
    const good = Buffer.from(rec, 'latin1');
    for (let c = 0; c < CASES; c++) {
      const lines = idx.trim().split('\n');
      const i = rng.int(lines.length);
      const choice = rng.int(4);
      if (choice === 0) lines[i] = `${i}\t${[4294967295, 1e15, 3, 99999999999999999999][rng.int(4)]}`;
      else if (choice === 1) lines.splice(i, 1);
      else if (choice === 2) lines[i] = String.fromCharCode(...Array.from({ length: 8 }, () => rng.int(128)));
      else lines.push(`${1e9 + c}\t0`);
      await expectNamedOrOk(`idx case ${c}: ${lines[i]}`, () =>
        readRecSet({ rec: good, idx: lines.join('\n') + '\n', names }),
      );
    }
  });

  it('.names contents', async () => {
    const rng = createRng(15).fork('names');
    const good = Buffer.from(rec, 'latin1');
    const pool = ['..', '.', '', '/abs', 'a/b', 'a\\b', 'x\0y', 'id0', 'id1', 'Zoë', ' ', '../..'];
    for (let c = 0; c < CASES; c++) {
      const n = rng.int(4);
      const text = Array.from({ length: n }, () => pool[rng.int(pool.length)]!).join('\n') + '\n';
      const r = await expectNamedOrOk(`names case ${c}: ${JSON.stringify(text)}`, () =>
        readRecSet({ rec: good, idx, names: text }),
      );
      // only two distinct plain names can pass
      if (r === 'ok')
        expect(
          text.split('\n').filter((x) => x === 'id0' || x === 'id1' || x === 'Zoë' || x === ' ').length,
        ).toBe(2);
    }
  });

  it('.bin pickles (incl. huge LONG/BINBYTES lengths)', async () => {
    const rng = createRng(15).fork('bin');
    const dir = path.join(ROOT, 'tests/fixtures/bin');
    const goods = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.bin'))
      .map((f) => fs.readFileSync(path.join(dir, f)));
    // hand-made headers claiming huge sizes
    const crafted = [
      Uint8Array.of(0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0x7f, 0x2e), // LONG4 of 2 GB
      Uint8Array.of(0x80, 4, 0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // FRAME 2^64-1
      Uint8Array.of(0x80, 4, 0x8e, 0, 0, 0, 0, 1, 0, 0, 0, 0x2e), // BINBYTES8 of 2^32
      Uint8Array.of(0x80, 3, 0x42, 0xff, 0xff, 0xff, 0xff, 0x2e), // BINBYTES of 4 GB
      Uint8Array.of(0x80, 2, 0x28, 0x28, 0x28, 0x74, 0x2e), // marks without an end
    ];
    for (const [i, b] of crafted.entries())
      expect(await expectNamedOrOk(`bin crafted ${i}`, () => parseBin(b, `crafted${i}.bin`))).toBe('refused');
    for (let c = 0; c < CASES * 2; c++) {
      const g = goods[rng.int(goods.length)]!;
      await expectNamedOrOk(`bin case ${c}`, () => parseBin(mutate(g, rng), `case${c}.bin`));
    }
  });

  it('pairs.txt', async () => {
    const rng = createRng(15).fork('pairs');
    const tokens = ['10', '300', '1', '0', '-3', '1e9', '4294967296', 'NaN', 'Aaron', '../x', '\t', '  '];
    for (let c = 0; c < CASES * 2; c++) {
      const lines = Array.from({ length: 1 + rng.int(6) }, () =>
        Array.from({ length: 1 + rng.int(5) }, () => tokens[rng.int(tokens.length)]!).join(' '),
      );
      await expectNamedOrOk(`pairs case ${c}: ${JSON.stringify(lines)}`, () =>
        parseLfwPairs(lines.join('\n'), 'pairs.txt'),
      );
    }
    // a header claiming a billion pairs over a two-line file is refused, not allocated
    expect(await expectNamedOrOk('huge', () => parseLfwPairs('1000000 1000\nA 1 2\n', 'pairs.txt'))).toBe(
      'refused',
    );
  });

  it('image headers (JPEG and PNG)', async () => {
    const rng = createRng(15).fork('img');
    const img = patternImage(3, 24);
    const goods = [await encodeImage(img, 'jpg'), await encodeImage(img, 'png')];
    // a PNG whose IHDR claims 60000×60000 (CRC left stale)
    const huge = Uint8Array.from(goods[1]!);
    new DataView(huge.buffer).setUint32(16, 60000, false);
    new DataView(huge.buffer).setUint32(20, 60000, false);
    expect(await expectNamedOrOk('huge png', () => decodeImage(huge, 'huge.png'))).toBe('refused');
    for (let c = 0; c < CASES; c++) {
      const g = goods[c % 2]!;
      // mostly the header region, where sizes and tables live
      const b = Uint8Array.from(g);
      if (rng.next() < 0.5) for (let k = 0; k < 4; k++) b[rng.int(Math.min(200, b.length))] = rng.int(256);
      await expectNamedOrOk(`image case ${c}`, () =>
        decodeImage(rng.next() < 0.5 ? b : mutate(g, rng), `case${c}`),
      );
    }
  });
});
