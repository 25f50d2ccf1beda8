/** Writes a rendered report (atomically, file by file) and encodes grid images as PNG with sharp. */
import path from 'node:path';
import sharp from 'sharp';
import { atomicWriteFile } from '../core/fs.js';
import type { RgbImage } from '../types.js';
import { renderReport } from './render.js';
import type { ReportData } from './types.js';

export async function writePng(file: string, img: RgbImage): Promise<void> {
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
  await atomicWriteFile(file, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
}

/** Renders `data` into `<dir>/index.html` (+ results.json); returns the HTML path. */
export async function writeReport(dir: string, data: ReportData): Promise<string> {
  const { html, assets } = renderReport(data);
  for (const a of assets) await atomicWriteFile(path.join(dir, a.path), a.data);
  const file = path.join(dir, 'index.html');
  await atomicWriteFile(file, html);
  return file;
}
