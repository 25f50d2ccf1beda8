/**
 * Identity folders (`<root>/<identity>/<image>.{jpg,jpeg,png}`), the layout torchvision's
 * ImageFolder and insightface's unpacked datasets use, plus image decode/encode through sharp.
 * Every image leaves here as RGB uint8 HWC (`RgbImage`): grayscale is replicated, alpha dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import { FaceMaeError } from '../core/errors.js';
import { atomicWriteFile } from '../core/fs.js';
import type { FaceRecord, RgbImage } from '../types.js';
import { datasetRoot } from './release.js';

/** File extensions read as images (lower-case, with dot). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

/**
 * The largest image any verb decodes, the one cap they share: faces are 112 px, and a raw photo
 * for `align` may come from a 24–61 Mpx camera (8192² = 67 Mpx, ~200 MB decoded); a header
 * claiming more is refused before any pixel is allocated (a 1 MB PNG may claim 16000×16000,
 * gigabytes once decoded).
 */
export const MAX_IMAGE_SIDE = 8192;
export const MAX_IMAGE_PIXELS = MAX_IMAGE_SIDE * MAX_IMAGE_SIDE;

/**
 * Refuses an image whose header claims more than MAX_IMAGE_PIXELS, naming it and its claimed
 * size. Reads the header only (sharp's metadata()); call it before any decode.
 */
export async function checkImageHeader(input: Uint8Array | string, source: string): Promise<void> {
  let m: { width?: number; height?: number };
  try {
    m = await sharp(input, { limitInputPixels: false }).metadata();
  } catch {
    return; // not an image header at all: the decode names the file as corrupt
  }
  const w = m.width ?? 0;
  const h = m.height ?? 0;
  if (w * h > MAX_IMAGE_PIXELS) {
    throw new FaceMaeError(
      `image ${source} claims ${w}×${h} pixels (${((w * h) / 1e6).toFixed(1)} Mpx), over the ${MAX_IMAGE_SIDE}×${MAX_IMAGE_SIDE} (${(MAX_IMAGE_PIXELS / 1e6).toFixed(1)} Mpx) limit of every facemae verb; it was not decoded: downscale it (faces are 112 px) or remove it`,
      'E_IMAGE_TOO_LARGE',
    );
  }
}

/** What to do when an image is not `size`×`size`: resize it (default) or refuse. */
export type WrongSizePolicy = 'resize' | 'error';

/** A note for the user (e.g. "resized 250×250 to 112×112"); the CLI prints it as a warning. */
export type OnWarning = (message: string) => void;

export interface ReadImageOptions {
  /** Expected square side; images of another size are resized or refused (see onWrongSize). */
  size?: number;
  /** Default 'resize'. */
  onWrongSize?: WrongSizePolicy;
  /** Called when an image is resized. Wrap it with `onceWarning` to hear about it only once. */
  onWarning?: OnWarning;
}

export interface ImageFolder {
  /** One record per image, sorted by identity then file name; labels are dense 0..K-1. */
  records: FaceRecord[];
  /** identities[label] is the folder name. */
  identities: string[];
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** Code-point order, so listings are identical on every platform and locale. */
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Lists `<root>/<identity>/<image>`: identities sorted, dense labels in that order.
 * Identity folders without images are skipped (reported through onWarning); non-image files
 * are ignored. Errors on a missing root, a root that is a file, or a root with no images.
 * A protected set's run folder lists its images/ (see release.ts).
 */
export async function listImageFolder(
  dir: string,
  opts: { onWarning?: OnWarning } = {},
): Promise<ImageFolder> {
  const root = datasetRoot(dir);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(root);
  } catch {
    throw new FaceMaeError(
      `image folder ${root} does not exist: pass a folder laid out as <root>/<identity>/<image>.jpg`,
      'E_NOT_FOUND',
    );
  }
  if (!st.isDirectory()) {
    throw new FaceMaeError(
      `${root} is not a folder: pass a folder laid out as <root>/<identity>/<image>.jpg`,
      'E_NOT_FOLDER',
    );
  }
  const entries = await fs.promises.readdir(root, { withFileTypes: true });
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort(byCodePoint);
  const records: FaceRecord[] = [];
  const identities: string[] = [];
  const empty: string[] = [];
  for (const identity of dirs) {
    const files = (await fs.promises.readdir(path.join(root, identity), { withFileTypes: true }))
      .filter((e) => e.isFile() && isImageFile(e.name))
      .map((e) => e.name)
      .sort(byCodePoint);
    if (files.length === 0) {
      empty.push(identity);
      continue;
    }
    const label = identities.length;
    identities.push(identity);
    for (const f of files) records.push({ path: path.join(root, identity, f), label, identity });
  }
  if (records.length === 0) {
    const loose = entries.filter((e) => e.isFile() && isImageFile(e.name)).length;
    const hint =
      loose > 0
        ? `it holds ${loose} image(s) directly; move them into one sub-folder per identity (<root>/<identity>/<image>.jpg)`
        : `expected <root>/<identity>/<image>.{jpg,jpeg,png}`;
    throw new FaceMaeError(`image folder ${root} contains no images: ${hint}`, 'E_EMPTY');
  }
  if (empty.length > 0 && opts.onWarning) {
    opts.onWarning(
      `skipped ${empty.length} identity folder(s) without images in ${root}: ${empty.slice(0, 5).join(', ')}${empty.length > 5 ? ', …' : ''}`,
    );
  }
  return { records, identities };
}

/** Wraps a warning callback so it fires only the first time (e.g. one "resizing" note per dataset). */
export function onceWarning(fn: OnWarning | undefined): OnWarning | undefined {
  if (!fn) return undefined;
  let said = false;
  return (m) => {
    if (said) return;
    said = true;
    fn(m);
  };
}

/** Reads and decodes an image file to RGB (see `decodeImage`). */
export async function readImage(file: string, opts: ReadImageOptions = {}): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FaceMaeError(`image ${file} does not exist`, 'E_NOT_FOUND');
    throw new FaceMaeError(`cannot read image ${file}: ${code ?? String(e)}`, 'E_READ');
  }
  return decodeImage(bytes, file, opts);
}

/**
 * Decodes encoded bytes (JPEG/PNG/anything sharp reads) to RGB uint8 HWC.
 * `source` names the bytes in errors (a file, or `lfw.bin#12`). Truncated or corrupt data is
 * refused (sharp's failOn 'truncated'), never returned half-grey. Damage inside the
 * entropy-coded data of a JPEG cannot be detected by any decoder and decodes to wrong pixels.
 */
export async function decodeImage(
  bytes: Uint8Array,
  source: string,
  opts: ReadImageOptions = {},
): Promise<RgbImage> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    // libvips checks the cap against the header before it allocates any pixel; the separate
    // header read (checkImageHeader) is paid only to name the size of a refused image
    raw = await sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_IMAGE_PIXELS })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    if (/pixel limit/i.test(firstLine(e))) await checkImageHeader(bytes, source);
    throw new FaceMaeError(
      `cannot decode image ${source}: ${firstLine(e)}; the file is corrupt or not a JPEG/PNG image: replace or remove it`,
      'E_IMAGE_CORRUPT',
    );
  }
  let img = toRgb(raw.data, raw.info.width, raw.info.height, raw.info.channels);
  const size = opts.size;
  if (size !== undefined && (img.width !== size || img.height !== size)) {
    if ((opts.onWrongSize ?? 'resize') === 'error') {
      throw new FaceMaeError(
        `image ${source} is ${img.width}×${img.height}, expected ${size}×${size}: align/crop it first (facemae align) or allow resizing`,
        'E_IMAGE_SIZE',
      );
    }
    opts.onWarning?.(`resizing images to ${size}×${size} (first: ${source}, ${img.width}×${img.height})`);
    img = await resizeImage(img, size, size);
  }
  return img;
}

/** Resizes an RGB image with a bilinear-ish (sharp 'cubic' default) filter, ignoring aspect ratio. */
export async function resizeImage(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}

/** 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels -> RGB. */
function toRgb(data: Buffer, width: number, height: number, channels: number): RgbImage {
  const n = width * height;
  if (channels === 3) return { data: new Uint8Array(data.buffer, data.byteOffset, n * 3), width, height };
  const out = new Uint8Array(n * 3);
  if (channels === 1 || channels === 2) {
    for (let i = 0; i < n; i++) {
      const g = data[i * channels] ?? 0;
      out[i * 3] = g;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = g;
    }
  } else {
    for (let i = 0; i < n; i++) {
      out[i * 3] = data[i * channels] ?? 0;
      out[i * 3 + 1] = data[i * channels + 1] ?? 0;
      out[i * 3 + 2] = data[i * channels + 2] ?? 0;
    }
  }
  return { data: out, width, height };
}

export type ImageFormat = 'jpg' | 'png';

/** Picks the format from a file name's extension; anything but .jpg/.jpeg/.png is refused. */
export function formatOf(file: string): ImageFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpg';
  if (ext === '.png') return 'png';
  throw new FaceMaeError(
    `cannot write image ${file}: the extension must be .jpg, .jpeg or .png`,
    'E_IMAGE_FORMAT',
  );
}

/** Encodes RGB to JPEG (quality 95, 4:4:4) or lossless PNG. */
export async function encodeImage(
  img: RgbImage,
  format: ImageFormat,
  opts: { quality?: number } = {},
): Promise<Uint8Array> {
  checkImage(img);
  const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  const buf =
    format === 'png'
      ? await s.png().toBuffer()
      : await s.jpeg({ quality: opts.quality ?? 95, chromaSubsampling: '4:4:4' }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Writes an image atomically (temp file + rename), format from the extension. */
export async function writeImage(
  file: string,
  img: RgbImage,
  opts: { quality?: number } = {},
): Promise<void> {
  await atomicWriteFile(file, await encodeImage(img, formatOf(file), opts));
}

function checkImage(img: RgbImage): void {
  if (!(img.width > 0 && img.height > 0) || img.data.length !== img.width * img.height * 3) {
    throw new FaceMaeError(
      `image data has ${img.data.length} bytes, expected width*height*3 = ${img.width}*${img.height}*3`,
      'E_IMAGE_SHAPE',
    );
  }
}

/** Mirrors an RGB image left-right into a new buffer. */
export function flipHorizontal(img: RgbImage): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    for (let x = 0; x < w; x++) {
      const s = row + x * 3;
      const d = row + (w - 1 - x) * 3;
      out[d] = data[s] as number;
      out[d + 1] = data[s + 1] as number;
      out[d + 2] = data[s + 2] as number;
    }
  }
  return { data: out, width: w, height: h };
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? m).trim();
}
