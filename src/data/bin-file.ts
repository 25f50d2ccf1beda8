/**
 * insightface verification sets (`lfw.bin`, `cfp_fp.bin`, `agedb_30.bin`): a pickle of
 * `(bins, issame_list)` where bins[2i], bins[2i+1] are the encoded images of pair i (plain bytes,
 * or numpy uint8 arrays holding the bytes), as written by insightface's `recognition/_datasets_`
 * tools and read by arcface_torch `eval/verification.py:load_bin`.
 */
import fs from 'node:fs';
import { FaceMaeError } from '../core/errors.js';
import { atomicWriteFile } from '../core/fs.js';
import { readPickle, writePickle, type NdArray, type PyValue } from './pickle.js';

export interface BinSet {
  /** Encoded images (JPEG/PNG bytes), 2 per pair, interleaved. */
  images: Uint8Array[];
  issame: boolean[];
}

const isNd = (v: PyValue): v is NdArray =>
  typeof v === 'object' && v !== null && (v as NdArray).kind === 'ndarray';
const items = (v: PyValue): PyValue[] | undefined =>
  Array.isArray(v)
    ? v
    : typeof v === 'object' && v !== null && (v as { kind?: string }).kind === 'tuple'
      ? (v as { items: PyValue[] }).items
      : undefined;

/** Parses the bytes of a .bin; `source` names it in errors. */
export function parseBin(buf: Uint8Array, source: string): BinSet {
  const root = readPickle(buf, source);
  const top = items(root);
  const shapeErr = (what: string) =>
    new FaceMaeError(
      `${source} is not an insightface verification set: ${what}; expected a pickle of (list of encoded images, list of bool)`,
      'E_BIN_FORMAT',
    );
  if (!top || top.length !== 2) throw shapeErr('the pickle is not a pair');
  const rawImages = items(top[0] as PyValue);
  if (!rawImages) throw shapeErr('the first element is not a list');
  const images = rawImages.map((v, i) => {
    if (v instanceof Uint8Array) return v;
    if (isNd(v) && (v.dtype === 'u1' || v.dtype === '|u1' || v.dtype === 'i1' || v.dtype === '|i1'))
      return v.data;
    throw shapeErr(`image ${i} is neither bytes nor a uint8 numpy array`);
  });
  const rawSame = top[1] as PyValue;
  let issame: boolean[];
  if (isNd(rawSame) && (rawSame.dtype === '?' || rawSame.dtype === '|b1' || rawSame.dtype === 'b1')) {
    issame = Array.from(rawSame.data, (b) => b !== 0);
  } else {
    const list = items(rawSame);
    if (!list) throw shapeErr('the second element is not a list of bool');
    issame = list.map((v, i) => {
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      throw shapeErr(`issame[${i}] is not a bool`);
    });
  }
  if (images.length !== 2 * issame.length) {
    throw new FaceMaeError(
      `${source} holds ${images.length} images for ${issame.length} pairs; a verification set needs exactly 2 images per pair`,
      'E_BIN_FORMAT',
    );
  }
  return { images, issame };
}

export async function readBin(file: string): Promise<BinSet> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch (e) {
    throw new FaceMaeError(
      `cannot read verification set ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      'E_NOT_FOUND',
    );
  }
  return parseBin(buf, file);
}

/**
 * Writes a .bin atomically that insightface's `load_bin` (`pickle.load(f, encoding='bytes')`) reads.
 * `imagesAs: 'ndarray'` stores each image as a numpy uint8 array, like small_lfw.bin.
 */
export async function writeBin(
  file: string,
  set: BinSet,
  opts: { imagesAs?: 'bytes' | 'ndarray' } = {},
): Promise<void> {
  if (set.images.length !== 2 * set.issame.length) {
    throw new FaceMaeError(
      `writeBin ${file}: ${set.images.length} images for ${set.issame.length} pairs; need 2 per pair`,
    );
  }
  const value: PyValue = { kind: 'tuple', items: [set.images, set.issame] };
  await atomicWriteFile(file, writePickle(value, { bytesAs: opts.imagesAs ?? 'bytes' }));
}
