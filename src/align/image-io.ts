/**
 * Decoding and encoding for the align command. Kept local to this area (sharp directly) so align
 * works on arbitrary user photos: any size, EXIF orientation applied, grayscale/alpha -> RGB.
 */
import path from 'node:path';
import sharp from 'sharp';
import { FaceMaeError } from '../core/errors.js';
import { atomicWriteFile } from '../core/fs.js';
import { checkImageHeader, MAX_IMAGE_PIXELS } from '../data/image-folder.js';
import type { RgbImage } from '../types.js';

/** Photo file -> RGB image; a file that does not decode, or claims over MAX_IMAGE_PIXELS, is a FaceMaeError naming it. */
export async function decodePhoto(file: string): Promise<RgbImage> {
  await checkImageHeader(file, file);
  try {
    const { data, info } = await sharp(file, { limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (e) {
    throw new FaceMaeError(
      `cannot decode image ${file}: ${(e as Error).message}; remove or replace the file`,
      'E_IMAGE_CORRUPT',
      { cause: e },
    );
  }
}

/** Encodes by extension (.png lossless, otherwise JPEG quality 95) and writes atomically. */
export async function encodePhoto(file: string, img: RgbImage): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  const base = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
  const buf = ext === '.png' ? await base.png().toBuffer() : await base.jpeg({ quality: 95 }).toBuffer();
  await atomicWriteFile(file, buf);
}
