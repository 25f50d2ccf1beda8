/**
 * The part of deployment that the command line and the in-browser app (web/) share, kept free of
 * Node imports so the page bundles it: the per-image masking noise, a function of (seed, image key)
 * only, and the manifest line written for each reconstructed image. Both must agree exactly, so a
 * face masked in the browser gets the same patches removed as `facemae reconstruct` would.
 */
import { createRng } from '../core/rng.js';
import type { Masking } from '../models/mae/masking.js';

/** One line of manifest.jsonl per reconstructed image. */
export interface ManifestLine {
  /** Source image (path, or file.rec#index; in the browser, the image key). */
  source: string;
  /** Output path relative to the output root. */
  output: string;
  identity: string;
  seed: number;
  maskRatio: number;
  /** Weight of the real pixels on the visible patches when not 1 (absent: 1, pasted back). */
  pasteBack?: number;
  /** Indices of the visible (kept) patches, row-major over the patch grid. */
  keep: number[];
}

/** Noise [L] for one image: a function of (seed, key) only; `key` is `<identity>/<file>`. */
export function imageMaskNoise(seed: number, key: string, numPatches: number): Float32Array {
  return createRng(seed).fork(`deploy:${key}`).uniformArray(numPatches);
}

/** Noise [n, L] for a batch of image keys. */
export function batchMaskNoise(seed: number, keys: readonly string[], numPatches: number): Float32Array {
  const noise = new Float32Array(keys.length * numPatches);
  keys.forEach((k, j) => noise.set(imageMaskNoise(seed, k, numPatches), j * numPatches));
  return noise;
}

/** The manifest line of sample `j` of masking `m`. */
export function manifestLine(m: Masking, j: number, fields: Omit<ManifestLine, 'keep'>): ManifestLine {
  const { pasteBack, ...rest } = fields;
  return {
    ...rest,
    ...(pasteBack !== undefined && pasteBack !== 1 ? { pasteBack } : {}),
    keep: Array.from(m.idsKeep.slice(j * m.lenKeep, (j + 1) * m.lenKeep)),
  };
}
