import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBin, readBin, writeBin } from '../../src/data/bin-file.js';
import { readPickle, writePickle } from '../../src/data/pickle.js';
import { readVerificationSet } from '../../src/data/verification-set.js';
import { tmpDir } from './helpers.js';

const FIX = path.resolve(import.meta.dirname, '../fixtures/bin');
const faces = [0, 1, 2, 3].map((k) => new Uint8Array(fs.readFileSync(path.join(FIX, 'faces', `${k}.jpg`))));
const SHARED = path.resolve(import.meta.dirname, '../../../shared/data');

describe('insightface .bin verification sets', () => {
  // Made by CPython pickle (tests/fixtures/bin/make.py) with numpy 1.24 and 2.4.
  const fixtures = fs.readdirSync(FIX).filter((f) => f.endsWith('.bin'));

  it('has fixtures for bytes (protocols 2, 4, 5), numpy arrays (protocols 3, 5; numpy 1 and 2), numpy bools', () => {
    expect(fixtures.sort()).toEqual([
      'bytes_p2.bin',
      'bytes_p4.bin',
      'bytes_p5.bin',
      'ndarray_p3_np1.bin',
      'ndarray_p3_np2.bin',
      'ndarray_p5_np1.bin',
      'ndarray_p5_np2.bin',
      'npbool_p2_np1.bin',
      'npbool_p2_np2.bin',
    ]);
  });

  it.each(fixtures)('reads %s: the exact image bytes and labels', async (f) => {
    const set = await readBin(path.join(FIX, f));
    expect(set.issame).toEqual([false, true]);
    expect(set.images.length).toBe(4);
    set.images.forEach((b, k) => expect(Buffer.from(b).equals(Buffer.from(faces[k]!))).toBe(true));
  });

  it('round-trips its own writer in both image forms', async () => {
    const dir = tmpDir();
    for (const imagesAs of ['bytes', 'ndarray'] as const) {
      const file = path.join(dir, `${imagesAs}.bin`);
      await writeBin(file, { images: faces, issame: [true, false] }, { imagesAs });
      const back = await readBin(file);
      expect(back.issame).toEqual([true, false]);
      back.images.forEach((b, k) => expect(Buffer.from(b).equals(Buffer.from(faces[k]!))).toBe(true));
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['bytes.bin', 'ndarray.bin']);
  });

  it('decodes a .bin into a VerificationSet of RGB images', async () => {
    const set = await readVerificationSet(`bin:${path.join(FIX, 'ndarray_p3_np1.bin')}`);
    expect(set.name).toBe('ndarray_p3_np1');
    expect(set.images.map((i) => [i.width, i.height, i.data.length])).toEqual(
      Array(4).fill([32, 32, 32 * 32 * 3]),
    );
    expect(set.sources[3]).toBe(`${path.join(FIX, 'ndarray_p3_np1.bin')}#3`);
    const agedb = await readVerificationSet(`agedb:${path.join(FIX, 'bytes_p4.bin')}`, { size: 16 });
    expect(agedb.images[0]!.width).toBe(16);
  });

  it('reads Python 2 strings, longs, floats and dicts', () => {
    // \x80\x02 U\x03abc  (SHORT_BINSTRING) ; \x8a\x02\x00\x01 (LONG1 256) ; G float ; } empty dict
    const p = Uint8Array.from([
      0x80, 2, 0x28, 0x55, 3, 97, 98, 99, 0x8a, 2, 0, 1, 0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x7d, 0x74, 0x2e,
    ]);
    const v = readPickle(p, 'x') as { items: unknown[] };
    expect(v.items[0]).toEqual(Uint8Array.from([97, 98, 99]));
    expect(v.items.slice(1, 3)).toEqual([256, 1.5]);
    expect(v.items[3]).toBeInstanceOf(Map);
    expect(readPickle(writePickle([1, -5, 70000, 2.5, 'é', null, true]), 'y')).toEqual([
      1,
      -5,
      70000,
      2.5,
      'é',
      null,
      true,
    ]);
  });

  it('refuses a truncated .bin, naming the file and the offset', async () => {
    const dir = tmpDir();
    const bytes = fs.readFileSync(path.join(FIX, 'bytes_p4.bin'));
    const cut = path.join(dir, 'cut.bin');
    fs.writeFileSync(cut, bytes.subarray(0, 1000));
    await expect(readBin(cut)).rejects.toThrow(
      new RegExp(
        `^${esc(cut)} is truncated or not a pickle: opcode 0x42 at byte \\d+ needs \\d+ byte\\(s\\), only \\d+ remain; re-download or re-create the file$`,
      ),
    );
    const noStop = path.join(dir, 'nostop.bin');
    fs.writeFileSync(noStop, bytes.subarray(0, bytes.length - 1));
    await expect(readBin(noStop)).rejects.toThrow(
      `${noStop} is truncated: the pickle ends at byte ${bytes.length - 1} without its STOP opcode`,
    );
    await expect(readBin(path.join(dir, 'none.bin'))).rejects.toThrow(
      `cannot read verification set ${path.join(dir, 'none.bin')}: ENOENT`,
    );
  });

  it('refuses pickles of the wrong shape or with arbitrary classes', () => {
    expect(() => parseBin(writePickle([faces[0]!, faces[1]!, faces[2]!]), 'a.bin')).toThrow(
      'a.bin is not an insightface verification set: the pickle is not a pair; expected a pickle of (list of encoded images, list of bool)',
    );
    expect(() =>
      parseBin(writePickle({ kind: 'tuple', items: [[faces[0]!, faces[1]!, faces[2]!], [true]] }), 'b.bin'),
    ).toThrow('b.bin holds 3 images for 1 pairs; a verification set needs exactly 2 images per pair');
    expect(() => parseBin(writePickle({ kind: 'tuple', items: [['x', 'y'], [true]] }), 'c.bin')).toThrow(
      'c.bin is not an insightface verification set: image 0 is neither bytes nor a uint8 numpy array',
    );
    const evil = new Uint8Array([0x80, 2, 0x63, ...new TextEncoder().encode('os\nsystem\n'), 0x2e]);
    expect(() => readPickle(evil, 'evil.bin')).toThrow(
      'evil.bin: unsupported pickle content (Python global os.system) at byte 2',
    );
  });

  it.skipIf(!fs.existsSync(path.join(SHARED, 'small_lfw.bin')))(
    'reads ../shared/data/small_lfw.bin: 20 images, 10 labels',
    async () => {
      const set = await readVerificationSet(path.join(SHARED, 'small_lfw.bin'));
      expect(set.images.length).toBe(20);
      expect(set.issame.length).toBe(10);
      expect(set.images.every((i) => i.width === 112 && i.height === 112)).toBe(true);
    },
  );
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
