/** distort on wrong-size images (issue 15): resized like the other verbs, and errors name the file. */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { writeImage } from '../../src/data/image-folder.js';
import { distortDataset } from '../../src/protect/distort-dataset.js';
import { makeToyFolder, patternImage, tmpDir } from '../data/helpers.js';

describe('distort and image sizes', () => {
  it('resizes a stray wrong-size image to the set size, with a warning', async () => {
    const data = await makeToyFolder(path.join(tmpDir(), 'set'), { ids: 2, perId: 2, size: 32 });
    const stray = path.join(data, 'id1', 'z-stray.png');
    await writeImage(stray, patternImage(9, 50));
    const out = path.join(tmpDir(), 'out');
    const warnings: string[] = [];
    await distortDataset(
      { method: 'blur', strength: 1, data, out, seed: 0 },
      { onWarning: (m) => warnings.push(m) },
    );
    const m = await sharp(path.join(out, 'images', 'id1', 'z-stray.png')).metadata();
    expect([m.width, m.height]).toEqual([32, 32]);
    expect(warnings.join('\n')).toMatch(/resizing images to 32×32 \(first: .*z-stray\.png, 50×50\)/);
  });

  it('mask on a 50×50 image names the file', async () => {
    const data = await makeToyFolder(path.join(tmpDir(), 'set'), { ids: 1, perId: 1, size: 50 });
    const file = path.join(data, 'id0', '0.png');
    expect(fs.existsSync(file)).toBe(true);
    await expect(
      distortDataset({ method: 'mask', strength: 0.5, data, out: path.join(tmpDir(), 'out'), seed: 0 }),
    ).rejects.toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: mask patch size 16`));
  });
});
