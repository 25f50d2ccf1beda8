/**
 * Hostile and damaged inputs (issue 15): names read from files cannot steer writes outside --out,
 * header sizes are checked against the file before anything is allocated, and every refusal is a
 * FaceMaeError that names the file or record.
 */
import { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerInspect } from '../../src/cli/commands/inspect.js';
import { FaceMaeError } from '../../src/core/errors.js';
import { checkSafeName } from '../../src/core/fs.js';
import { encodeImage } from '../../src/data/image-folder.js';
import { inspectDataset } from '../../src/data/inspect.js';
import { parseLfwPairs } from '../../src/data/pairs.js';
import { readPickle } from '../../src/data/pickle.js';
import {
  encodeRecord,
  openRecordIO,
  packImageFolder,
  packPayload,
  recordIoToFolder,
} from '../../src/data/recordio.js';
import { makeToyFolder, patternImage, tmpDir } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await makeToyFolder(path.join(tmpDir(), 'set'), { ids: 2, perId: 2, size: 8 });
});
afterEach(() => vi.restoreAllMocks());

/** Packs the toy set to a fresh PREFIX and returns it. */
async function packed(): Promise<string> {
  const prefix = path.join(tmpDir(), 'rec', 'train');
  await packImageFolder(root, prefix);
  return prefix;
}

async function rejection(p: Promise<unknown>): Promise<FaceMaeError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(FaceMaeError);
  return e as FaceMaeError;
}

describe('names read from files', () => {
  it('checkSafeName refuses "..", separators, absolute paths and NUL, naming the record', () => {
    for (const bad of ['..', '.', '', 'a/b', 'a\\b', '/etc', '../../x', 'a\0b', 'C:evil'])
      expect(() => checkSafeName(bad, 'x.names:3')).toThrow(/x\.names:3: name .* is not a plain/);
    expect(checkSafeName('Aaron_Eckhart', 'x')).toBe('Aaron_Eckhart');
  });

  it('a .names line "../../../escaped" cannot make pack --unpack write outside --out', async () => {
    const prefix = await packed();
    fs.writeFileSync(`${prefix}.names`, '../../../escaped-unpack\nid1\n');
    const base = tmpDir();
    const out = path.join(base, 'a', 'b', 'out');
    const e = await rejection(recordIoToFolder(`${prefix}.rec`, out));
    expect(e.message).toContain(`${prefix}.names:1`);
    expect(e.code).toBe('E_UNSAFE_NAME');
    expect(fs.existsSync(path.join(base, 'escaped-unpack'))).toBe(false);
    expect(fs.existsSync(path.join(out, '..', '..', '..', 'escaped-unpack'))).toBe(false);
  });

  it('a pairs.txt name with ".." is refused naming the line', () => {
    expect(() => parseLfwPairs('1 1\nAaron 1 2\n../../etc 1 Bob 2\n', 'pairs.txt')).toThrow(
      /^pairs\.txt:3: name "\.\.\/\.\.\/etc" is not a plain/,
    );
  });

  it('a .names of the wrong length is a named error, not a silent fallback to numbers', async () => {
    const prefix = await packed();
    fs.writeFileSync(`${prefix}.names`, 'only-one\n');
    const e = await rejection(openRecordIO(`${prefix}.rec`));
    expect(e.message).toMatch(/train\.names has 1 name\(s\), but the \.rec has 2 identities/);
  });
});

describe('.rec headers checked against the file', () => {
  it('a 40-byte .rec whose header claims 1e8 images is refused before allocating', async () => {
    const dir = tmpDir();
    const rec = path.join(dir, 'evil.rec');
    const bytes = encodeRecord(packPayload([1e8 + 1, 1e8 + 2], 0));
    expect(bytes.length).toBeLessThanOrEqual(40);
    fs.writeFileSync(rec, bytes);
    const before = process.memoryUsage().heapUsed;
    const e = await rejection(inspectDataset(rec));
    expect(e.message).toMatch(/evil\.rec#0: the header claims 9999999\d images .* holds only 1 record/);
    // nothing near 1e8 entries was allocated (an array of 1e8 numbers is 800 MB)
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(100e6);
  });

  it('incomplete identity records are a named error, not a fallback to per-image labels', async () => {
    const prefix = await packed();
    // keep record 0, the 4 images and only the first identity record (drop key 6 from the .idx)
    const idx = fs.readFileSync(`${prefix}.idx`, 'utf8').trim().split('\n');
    fs.writeFileSync(`${prefix}.idx`, idx.filter((l) => !l.startsWith('6\t')).join('\n') + '\n');
    const e = await rejection(openRecordIO(`${prefix}.rec`));
    expect(e.message).toMatch(/train\.rec: identity record 6 .* is missing/);
  });
});

describe('pack killed mid-write', () => {
  it('stale PREFIX.*.tmp-<dead pid> files are removed by the next pack', async () => {
    const prefix = path.join(tmpDir(), 'train');
    const stale = [`${prefix}.rec.tmp-99999999-1700000000000`, `${prefix}.names.tmp-99999999`];
    for (const f of stale) fs.writeFileSync(f, 'half a pack');
    await packImageFolder(root, prefix);
    for (const f of stale) expect(fs.existsSync(f)).toBe(false);
    expect(fs.readdirSync(path.dirname(prefix)).sort()).toEqual(['train.idx', 'train.names', 'train.rec']);
  });
});

describe('pickle LONG', () => {
  it('decodes a 1 MB LONG4 in linear time (was quadratic: minutes)', () => {
    const n = 1 << 20;
    const buf = new Uint8Array(2 + 1 + 4 + n + 1);
    buf.set([0x80, 2, 0x8b], 0);
    new DataView(buf.buffer).setUint32(3, n, true);
    buf.fill(0x01, 7, 7 + n);
    buf[7 + n] = 0x2e;
    const v = readPickle(buf, 'long.bin');
    expect(typeof v).toBe('bigint');
    expect((v as bigint) % 256n).toBe(1n);
    expect((v as bigint) >> BigInt(8 * (n - 1))).toBe(1n);
    // a negative LONG1 still decodes (two's complement)
    expect(readPickle(Uint8Array.of(0x80, 2, 0x8a, 2, 0x00, 0xff, 0x2e), 'neg')).toBe(-256);
  }, 10_000);
});

describe('inspect on a damaged image', () => {
  it('exits non-zero and names the truncated JPEG', async () => {
    const dir = await makeToyFolder(path.join(tmpDir(), 'set'), { ids: 2, perId: 2, size: 32, ext: 'jpg' });
    const jpg = await encodeImage(patternImage(7, 64), 'jpg');
    const bad = path.join(dir, 'id1', 'z-truncated.jpg');
    fs.writeFileSync(bad, jpg.subarray(0, Math.floor(jpg.length / 2)));
    const program = new Command('facemae').option('-q, --quiet').option('--json').exitOverride();
    registerInspect(program);
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const e = await rejection(program.parseAsync(['node', 'facemae', 'inspect', dir]));
    expect(e.message).toContain(bad);
    expect(e.message).toMatch(/1 of 5 sampled image\(s\)/);
    expect(out).toContain('images: 5'); // the summary is still printed
  });
});
