import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/rng.js';
import { listImageFolder } from '../../src/data/image-folder.js';
import { createLoader } from '../../src/data/loader.js';
import {
  createRecordWriter,
  encodeRecord,
  openRecordFile,
  openRecordIO,
  packImageFolder,
  packPayload,
  recordIoToFolder,
  unpackPayload,
} from '../../src/data/recordio.js';
import { openFaceSource } from '../../src/data/source.js';
import { initEngine } from '../../src/engine/backend.js';
import { makeToyFolder, tmpDir } from './helpers.js';

const FIX = path.resolve(import.meta.dirname, '../fixtures');

describe('RecordIO', () => {
  let root: string;
  beforeAll(async () => {
    await initEngine();
    root = await makeToyFolder(path.join(tmpDir(), 'set'), { ids: 3, perId: 3, size: 12 });
  });

  it('packs IRHeaders like mx.recordio.pack (<IfQQ, label arrays set flag)', () => {
    const p = packPayload(7, 3, Uint8Array.of(9, 9));
    expect(p.length).toBe(26);
    expect(Array.from(p.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0xe0, 0x40]); // flag 0, 7.0f
    expect(p[8]).toBe(3);
    const u = unpackPayload(packPayload([5, 9], 0), 'x');
    expect(u.header.flag).toBe(2);
    expect(u.labels).toEqual([5, 9]);
    expect(u.body.length).toBe(0);
    expect(() => unpackPayload(new Uint8Array(10), 'f.rec#3')).toThrow(
      'f.rec#3: record of 10 bytes is shorter than its 24-byte IRHeader; the .rec is corrupt',
    );
  });

  it('encodes records with magic, length and padding, splitting at aligned magics', () => {
    const r = encodeRecord(Uint8Array.of(1, 2, 3, 4, 5));
    expect(Array.from(r)).toEqual([0x0a, 0x23, 0xd7, 0xce, 5, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0]);
    const withMagic = Uint8Array.of(1, 2, 3, 4, 0x0a, 0x23, 0xd7, 0xce, 7);
    const s = encodeRecord(withMagic);
    // part 1: cflag 1, 4 bytes; part 2: cflag 3, 1 byte, padded
    expect(Array.from(s)).toEqual([
      0x0a, 0x23, 0xd7, 0xce, 4, 0, 0, 0x20, 1, 2, 3, 4, 0x0a, 0x23, 0xd7, 0xce, 1, 0, 0, 0x60, 7, 0, 0, 0,
    ]);
  });

  it('reads an insightface-layout .rec made by Python (header last, label arrays, split record)', async () => {
    const src = await openRecordIO(path.join(FIX, 'rec/train.rec'));
    try {
      expect(src.hasHeader).toBe(true);
      expect(src.length).toBe(4);
      expect(src.identities).toEqual(['0', '1']);
      expect([0, 1, 2, 3].map((i) => src.record(i).label)).toEqual([0, 0, 1, 1]);
      for (let k = 0; k < 3; k++) {
        const want = fs.readFileSync(path.join(FIX, 'bin/faces', `${k}.jpg`));
        expect(Buffer.from(await src.readEncoded(k)).equals(want)).toBe(true);
      }
      const split = fs.readFileSync(path.join(FIX, 'rec/expected-image3.bin'));
      expect(Buffer.from(await src.readEncoded(3)).equals(split)).toBe(true);
      const img = await src.read(3);
      expect([img.width, img.height]).toEqual([32, 32]);
    } finally {
      await src.close();
    }
  });

  it('packs a folder to .rec/.idx and reads back the same bytes and labels', async () => {
    const out = path.join(tmpDir(), 'packed', 'train');
    const progress: number[] = [];
    const res = await packImageFolder(root, out, { onProgress: (d) => progress.push(d) });
    expect(res).toMatchObject({ images: 9, identities: 3, rec: `${out}.rec`, idx: `${out}.idx` });
    expect(progress.at(-1)).toBe(9);
    expect(fs.readdirSync(path.dirname(out)).sort()).toEqual(['train.idx', 'train.names', 'train.rec']);
    const idx = fs.readFileSync(`${out}.idx`, 'utf8').trim().split('\n');
    expect(idx.length).toBe(1 + 9 + 3);
    expect(idx[0]).toBe('0\t0');
    const { records } = await listImageFolder(root);
    const src = await openRecordIO(`${out}.rec`);
    try {
      expect(src.identities).toEqual(['id0', 'id1', 'id2']);
      expect(src.keys).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      for (let i = 0; i < records.length; i++) {
        expect(src.record(i).label).toBe(records[i]!.label);
        expect(Buffer.from(await src.readEncoded(i)).equals(fs.readFileSync(records[i]!.path))).toBe(true);
      }
      const h0 = unpackPayload(await (await openRecordFile(`${out}.rec`)).read(0), 'h0');
      expect(h0.labels).toEqual([10, 13]);
    } finally {
      await src.close();
    }
    // the folder (prefix) spec and openFaceSource find it too
    const viaDir = await openFaceSource(path.dirname(out));
    expect(viaDir.length).toBe(9);
    await viaDir.close();
    // refuses to overwrite
    await expect(packImageFolder(root, out)).rejects.toThrow(
      `${out}.rec already exists: pass --overwrite to replace it, or choose another --out`,
    );
    await packImageFolder(root, out, { overwrite: true });
  });

  it('unpacks a .rec to a folder that lists as the original', async () => {
    const out = path.join(tmpDir(), 'train');
    await packImageFolder(root, out);
    const dir = path.join(tmpDir(), 'unpacked');
    const res = await recordIoToFolder(`${out}.rec`, dir);
    expect(res).toEqual({ images: 9, identities: 3, out: dir });
    const a = await listImageFolder(root);
    const b = await listImageFolder(dir);
    expect(b.identities).toEqual(a.identities);
    for (let i = 0; i < a.records.length; i++) {
      expect(fs.readFileSync(b.records[i]!.path).equals(fs.readFileSync(a.records[i]!.path))).toBe(true);
    }
    await expect(recordIoToFolder(`${out}.rec`, dir)).rejects.toThrow(
      `output folder ${dir} is not empty: pass --overwrite`,
    );
    // without names: zero-padded numeric folders from the Python fixture
    const dir2 = path.join(tmpDir(), 'u2');
    await recordIoToFolder(path.join(FIX, 'rec/train.rec'), dir2);
    expect(fs.readdirSync(dir2).sort()).toEqual(['0', '1']);
    expect(fs.readdirSync(path.join(dir2, '1')).sort()).toEqual(['3.jpg', '4.jpg']);
  });

  it('feeds the loader from a .rec', async () => {
    const out = path.join(tmpDir(), 'train');
    await packImageFolder(root, out);
    const src = await openRecordIO(`${out}.rec`);
    const loader = createLoader({ source: src, batchSize: 4, size: 12, shuffle: true, rng: createRng(5) });
    const labels: number[] = [];
    for await (const b of loader.epoch()) {
      labels.push(...b.labels);
      expect(b.images.shape).toEqual([b.labels.length, 12, 12, 3]);
      expect(b.records.every((r, k) => r.label === b.labels[k] && r.path.startsWith(`${out}.rec#`))).toBe(
        true,
      );
      b.images.dispose();
    }
    expect(labels.sort()).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    await src.close();
  });

  it('refuses a truncated .rec, naming the file and offset', async () => {
    const out = path.join(tmpDir(), 'train');
    await packImageFolder(root, out);
    const bytes = fs.readFileSync(`${out}.rec`);
    const idx = fs.readFileSync(`${out}.idx`, 'utf8').trim().split('\n');
    const off5 = Number(idx[5]!.split('\t')[1]);
    fs.writeFileSync(`${out}.rec`, bytes.subarray(0, off5 + 20));
    await expect(openRecordIO(`${out}.rec`)).rejects.toThrow(
      new RegExp(
        `^${esc(`${out}.rec`)} is truncated: ${esc(`${out}.idx`)} puts record \\d+ at offset \\d+, but the file has only ${off5 + 20} bytes; re-copy or re-pack it$`,
      ),
    );
    // without the .idx the scan finds the cut record
    fs.rmSync(`${out}.idx`);
    await expect(openRecordFile(`${out}.rec`)).rejects.toThrow(
      new RegExp(
        `^${esc(`${out}.rec`)} is truncated at offset ${off5}: the record there needs \\d+ bytes, only 12 remain; re-copy or re-pack it$`,
      ),
    );
    // a bad .idx offset lands off a record boundary
    fs.writeFileSync(`${out}.rec`, bytes);
    fs.writeFileSync(`${out}.idx`, '0\t4\n');
    const rf = await openRecordFile(`${out}.rec`);
    await expect(rf.read(0)).rejects.toThrow(`${out}.rec: no RecordIO record at offset 4 (found 0x`);
    await rf.close();
    await expect(openRecordIO(path.join(tmpDir(), 'none.rec'))).rejects.toThrow('cannot open RecordIO file');
  });

  it('refuses to pack a corrupt image, leaving no output behind', async () => {
    const bad = await makeToyFolder(path.join(tmpDir(), 'bad'), { ids: 2, perId: 2, size: 8 });
    fs.writeFileSync(path.join(bad, 'id1', '1.png'), 'junk');
    const outDir = tmpDir();
    await expect(packImageFolder(bad, path.join(outDir, 'train'))).rejects.toThrow(
      `cannot decode image ${path.join(bad, 'id1', '1.png')}:`,
    );
    expect(fs.readdirSync(outDir)).toEqual([]);
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('RecordIO without an insightface header', () => {
  it('treats every record as an image, keyed in file order when there is no .idx', async () => {
    const dir = tmpDir();
    const faces = [0, 1, 2].map(
      (k) => new Uint8Array(fs.readFileSync(path.join(FIX, 'bin/faces', `${k}.jpg`))),
    );
    const w = createRecordWriter(path.join(dir, 'plain'));
    w.write(0, packPayload(4, 0, faces[0]));
    w.write(1, packPayload([2, 1], 1, faces[1])); // label array: label[0] counts
    w.write(2, packPayload(4, 2, faces[2]));
    w.commit();
    fs.rmSync(path.join(dir, 'plain.idx'));
    const src = await openRecordIO(path.join(dir, 'plain.rec'));
    try {
      expect(src.hasHeader).toBe(false);
      expect(src.keys).toEqual([0, 1, 2]);
      expect([0, 1, 2].map((i) => src.record(i).label)).toEqual([4, 2, 4]);
      expect(src.identities.length).toBe(5);
      expect(Buffer.from(await src.readEncoded(1)).equals(Buffer.from(faces[1]!))).toBe(true);
    } finally {
      await src.close();
    }
  });
});
