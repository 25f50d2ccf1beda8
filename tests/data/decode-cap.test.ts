/** One pixel cap for every verb that decodes, checked from the header (issue 27). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodePhoto } from '../../src/align/image-io.js';
import { decodeImage, MAX_IMAGE_PIXELS, readImage } from '../../src/data/image-folder.js';
import { inspectDataset } from '../../src/data/inspect.js';
import { reconstructDataset } from '../../src/protect/reconstruct-dataset.js';
import { initEngine } from '../../src/engine/backend.js';
import { distortDataset } from '../../src/protect/distort-dataset.js';

const root = path.resolve(import.meta.dirname, '../..');
const sample = path.join(root, 'assets/sample/deploy');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-cap-'));

/** A PNG whose header claims w×h, followed by a few bytes of image data (a "decompression bomb" header). */
function claimingPng(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(4096))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Two sample identities plus one holding a PNG that claims 16000×16000. */
function dataWithBomb() {
  const data = path.join(tmp(), 'data');
  for (const id of fs.readdirSync(sample).sort().slice(0, 2))
    fs.cpSync(path.join(sample, id), path.join(data, id), { recursive: true });
  fs.mkdirSync(path.join(data, 'Zz_Bomb'));
  const bomb = path.join(data, 'Zz_Bomb', 'bomb.png');
  fs.writeFileSync(bomb, claimingPng(16000, 16000));
  return { data, bomb };
}

const CLAIM = /claims 16000×16000 pixels \(256\.0 Mpx\), over the 8192×8192 \(67\.1 Mpx\) limit/;

describe('the pixel cap', () => {
  it('is 8192×8192 and is checked at the boundary from the header', async () => {
    expect(MAX_IMAGE_PIXELS).toBe(8192 * 8192);
    await expect(decodeImage(claimingPng(16000, 16000), 'bomb.png')).rejects.toThrow(
      new RegExp(`image bomb\\.png ${CLAIM.source}`),
    );
    await expect(decodeImage(claimingPng(8193, 8192), 'x.png')).rejects.toThrow(/claims 8193×8192/);
    // at the cap the header passes; these few bytes then fail as an ordinary corrupt image
    await expect(decodeImage(claimingPng(8192, 8192), 'y.png')).rejects.toThrow(/cannot decode image y\.png/);
  });

  it('six real 16000×16000 PNGs (780 KB each) decoded at once are refused without allocating their pixels', async () => {
    // a genuine file, not a forged header: sharp's own default limit (268 Mpx) would decode it
    const png = await sharp({
      create: { width: 16000, height: 16000, channels: 3, background: { r: 120, g: 90, b: 60 } },
    })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(png.length).toBeLessThan(1e6);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => decodeImage(png, `big-${i}.png`)),
    );
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(String((r as PromiseRejectedResult).reason)).toMatch(CLAIM);
    }
    // one decoded copy would be 768 MB
    expect((peak - before) / 1e6).toBeLessThan(200);
  }, 60_000);

  it("readImage, align's decodePhoto and inspect all refuse the file by name and size", async () => {
    const { data, bomb } = dataWithBomb();
    await expect(readImage(bomb)).rejects.toThrow(new RegExp(`image ${bomb} ${CLAIM.source}`));
    await expect(decodePhoto(bomb)).rejects.toThrow(CLAIM);
    const s = await inspectDataset(data, { sample: 0 });
    expect(s.unreadable).toHaveLength(1);
    expect(s.unreadable[0]!.source).toBe(bomb);
    expect(s.unreadable[0]!.reason).toMatch(CLAIM);
  });

  it('distort stops at the file and names it; reconstruct lists it and does the rest', async () => {
    const { data, bomb } = dataWithBomb();
    await expect(
      distortDataset({ method: 'blur', strength: 4, data, out: path.join(tmp(), 'out'), seed: 0, size: 112 }),
    ).rejects.toThrow(new RegExp(`${bomb} ${CLAIM.source}`));
    await initEngine();
    const r = await reconstructDataset({
      model: path.join(root, 'assets/models/facemae-tiny'),
      data,
      out: path.join(tmp(), 'rec'),
      onImageError: 'skip',
      batchSize: 4,
    });
    expect(r.errors.map((e) => e.source)).toEqual([bomb]);
    expect(r.errors[0]!.message).toMatch(CLAIM);
    expect(r.written).toBe(r.images - 1);
  }, 60_000);
});
