import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeImage,
  flipHorizontal,
  listImageFolder,
  readImage,
  writeImage,
} from '../../src/data/image-folder.js';
import { makeToyFolder, patternImage, tmpDir } from './helpers.js';

describe('image folder', () => {
  let root: string;
  beforeAll(async () => {
    root = await makeToyFolder(path.join(tmpDir(), 'set'), { ids: 3, perId: 2 });
    fs.writeFileSync(path.join(root, 'id1', 'notes.txt'), 'not an image');
    fs.mkdirSync(path.join(root, 'empty-id'));
    fs.writeFileSync(path.join(root, 'README'), 'x');
  });

  it('lists identities sorted with dense labels, skipping empty folders and non-images', async () => {
    const warnings: string[] = [];
    const { records, identities } = await listImageFolder(root, { onWarning: (m) => warnings.push(m) });
    expect(identities).toEqual(['id0', 'id1', 'id2']);
    expect(records.map((r) => [r.identity, r.label, path.basename(r.path)])).toEqual([
      ['id0', 0, '0.png'],
      ['id0', 0, '1.png'],
      ['id1', 1, '0.png'],
      ['id1', 1, '1.png'],
      ['id2', 2, '0.png'],
      ['id2', 2, '1.png'],
    ]);
    expect(warnings).toEqual([`skipped 1 identity folder(s) without images in ${root}: empty-id`]);
  });

  it('refuses a missing folder, a file, and a folder without images', async () => {
    const missing = path.join(root, 'nope');
    await expect(listImageFolder(missing)).rejects.toThrow(
      `image folder ${missing} does not exist: pass a folder laid out as <root>/<identity>/<image>.jpg`,
    );
    const file = path.join(root, 'README');
    await expect(listImageFolder(file)).rejects.toThrow(`${file} is not a folder`);
    const empty = path.join(root, 'empty-id');
    await expect(listImageFolder(empty)).rejects.toThrow(
      `image folder ${empty} contains no images: expected <root>/<identity>/<image>.{jpg,jpeg,png}`,
    );
    const flat = path.join(tmpDir(), 'flat');
    await writeImage(path.join(flat, 'a.png'), patternImage(1, 8));
    await expect(listImageFolder(flat)).rejects.toThrow(
      /holds 1 image\(s\) directly; move them into one sub-folder per identity/,
    );
  });

  it('writes PNG losslessly and JPEG close, and reads them back as RGB', async () => {
    const img = patternImage(7, 24);
    const dir = tmpDir();
    await writeImage(path.join(dir, 'a.png'), img);
    await writeImage(path.join(dir, 'a.jpg'), img);
    const png = await readImage(path.join(dir, 'a.png'));
    expect(png.width).toBe(24);
    expect(Buffer.from(png.data).equals(Buffer.from(img.data))).toBe(true);
    const jpg = await readImage(path.join(dir, 'a.jpg'));
    let err = 0;
    for (let i = 0; i < img.data.length; i++)
      err += Math.abs((jpg.data[i] as number) - (img.data[i] as number));
    expect(err / img.data.length).toBeLessThan(6);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.jpg', 'a.png']); // no temp files left
    await expect(writeImage(path.join(dir, 'a.bmp'), img)).rejects.toThrow(
      `cannot write image ${path.join(dir, 'a.bmp')}: the extension must be .jpg, .jpeg or .png`,
    );
  });

  it('converts grayscale and RGBA to RGB', async () => {
    const dir = tmpDir();
    const gray = Buffer.from(Array.from({ length: 16 }, (_, i) => i * 10));
    await sharp(gray, { raw: { width: 4, height: 4, channels: 1 } })
      .png()
      .toFile(path.join(dir, 'g.png'));
    const g = await readImage(path.join(dir, 'g.png'));
    expect(g.data.length).toBe(48);
    expect(Array.from(g.data.slice(3, 9))).toEqual([10, 10, 10, 20, 20, 20]);
    const rgba = Buffer.from(Array.from({ length: 4 * 4 * 4 }, (_, i) => (i % 4 === 3 ? 128 : i)));
    await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } })
      .png()
      .toFile(path.join(dir, 'a.png'));
    const a = await readImage(path.join(dir, 'a.png'));
    expect(Array.from(a.data.slice(0, 6))).toEqual([0, 1, 2, 4, 5, 6]);
  });

  it('refuses corrupt, truncated and non-image files, naming the file', async () => {
    const dir = tmpDir();
    const txt = path.join(dir, 'x.jpg');
    fs.writeFileSync(txt, 'hello, not a jpeg');
    await expect(readImage(txt)).rejects.toThrow(
      new RegExp(
        `^cannot decode image ${txt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*; the file is corrupt or not a JPEG/PNG image: replace or remove it$`,
      ),
    );
    const good = path.join(dir, 'good.jpg');
    await writeImage(good, patternImage(3, 64));
    const bytes = fs.readFileSync(good);
    const cut = path.join(dir, 'cut.jpg');
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(readImage(cut)).rejects.toThrow(`cannot decode image ${cut}:`);
    await expect(readImage(path.join(dir, 'missing.png'))).rejects.toThrow(
      `image ${path.join(dir, 'missing.png')} does not exist`,
    );
  });

  it('resizes a wrong-sized image with a warning, or refuses it', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'big.png');
    await writeImage(f, patternImage(1, 20, 10));
    const warnings: string[] = [];
    const img = await readImage(f, { size: 8, onWarning: (m) => warnings.push(m) });
    expect([img.width, img.height, img.data.length]).toEqual([8, 8, 192]);
    expect(warnings).toEqual([`resizing images to 8×8 (first: ${f}, 20×10)`]);
    await expect(readImage(f, { size: 8, onWrongSize: 'error' })).rejects.toThrow(
      `image ${f} is 20×10, expected 8×8: align/crop it first (facemae align) or allow resizing`,
    );
    await expect(decodeImage(new Uint8Array([1, 2, 3]), 'lfw.bin#4')).rejects.toThrow(
      'cannot decode image lfw.bin#4:',
    );
  });

  it('flips horizontally', () => {
    const img = patternImage(2, 5, 3);
    const f = flipHorizontal(img);
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 5; x++) {
        for (let c = 0; c < 3; c++)
          expect(f.data[(y * 5 + x) * 3 + c]).toBe(img.data[(y * 5 + 4 - x) * 3 + c]);
      }
    }
    expect(flipHorizontal(f).data).toEqual(img.data);
  });
});
