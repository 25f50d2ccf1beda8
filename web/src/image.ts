/** Browser image decoding/encoding to and from RgbImage (HWC RGB bytes), and drawing. */
import type { RgbImage } from '../../src/types.js';

/** Any image file the browser decodes -> RGB (EXIF orientation applied, alpha dropped as the CLI does). */
export async function decodeImage(file: Blob): Promise<RgbImage> {
  const bmp = await createImageBitmap(file, {
    imageOrientation: 'from-image',
    premultiplyAlpha: 'none',
    colorSpaceConversion: 'none',
  });
  const { width, height } = bmp;
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2d canvas');
  ctx.drawImage(bmp, 0, 0);
  bmp.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    data[j] = rgba[i] as number;
    data[j + 1] = rgba[i + 1] as number;
    data[j + 2] = rgba[i + 2] as number;
  }
  return { data, width, height };
}

function toImageData(img: RgbImage, grey?: { mask: Float32Array; patch: number }): ImageData {
  const { width: w, height: h } = img;
  const out = new ImageData(w, h);
  const g = w / (grey?.patch ?? w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const removed = grey && grey.mask[Math.floor(y / grey.patch) * g + Math.floor(x / grey.patch)] === 1;
      for (let c = 0; c < 3; c++) out.data[4 * i + c] = removed ? 128 : (img.data[3 * i + c] as number);
      out.data[4 * i + 3] = 255;
    }
  }
  return out;
}

/** Draws into a new canvas; with `grey`, the removed patches (mask 1) are painted grey. */
export function toCanvas(img: RgbImage, grey?: { mask: Float32Array; patch: number }): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = img.width;
  c.height = img.height;
  c.getContext('2d')!.putImageData(toImageData(img, grey), 0, 0);
  return c;
}

/** JPEG (quality 0.95, as the CLI's default 95) for .jpg/.jpeg names, PNG otherwise. */
export async function encodeImage(img: RgbImage, name: string): Promise<Uint8Array> {
  const c = new OffscreenCanvas(img.width, img.height);
  c.getContext('2d')!.putImageData(toImageData(img), 0, 0);
  const jpeg = /\.jpe?g$/i.test(name);
  const blob = await c.convertToBlob(jpeg ? { type: 'image/jpeg', quality: 0.95 } : { type: 'image/png' });
  return new Uint8Array(await blob.arrayBuffer());
}

/** The output name: JPEG and PNG keep their name, other formats become .png. */
export function outputName(key: string): string {
  return /\.(jpe?g|png)$/i.test(key) ? key : key.replace(/\.[^./]*$/, '') + '.png';
}
