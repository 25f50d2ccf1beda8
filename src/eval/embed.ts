/**
 * Batched embedding of RgbImages through any Embedder, with insightface's flip test-time
 * augmentation: embedding = normalise(f(x) + f(flip x)).
 */
import { FaceMaeError } from '../core/errors.js';
import type { Embedder, OnProgress, RgbImage } from '../types.js';

/** Packs `images` (all size×size) into one n×S×S×3 buffer; `flip` mirrors each row. */
export function packImages(images: readonly RgbImage[], size: number, flip = false): Uint8Array {
  const row = size * 3;
  const out = new Uint8Array(images.length * size * row);
  images.forEach((im, n) => {
    if (im.width !== size || im.height !== size) {
      throw new FaceMaeError(`image ${n} is ${im.width}×${im.height}, the model needs ${size}×${size}`);
    }
    const base = n * size * row;
    if (!flip) {
      out.set(im.data.subarray(0, size * row), base);
      return;
    }
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const s = y * row + x * 3;
        const d = base + y * row + (size - 1 - x) * 3;
        out[d] = im.data[s] as number;
        out[d + 1] = im.data[s + 1] as number;
        out[d + 2] = im.data[s + 2] as number;
      }
  });
  return out;
}

/** Scales each row of an n×d matrix to unit L2 norm in place (sklearn.preprocessing.normalize). */
export function normalizeRowsInPlace(m: Float32Array, d: number): Float32Array {
  for (let i = 0; i < m.length; i += d) {
    let s = 0;
    for (let k = 0; k < d; k++) s += (m[i + k] as number) ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < d; k++) m[i + k] = (m[i + k] as number) * inv;
  }
  return m;
}

export interface EmbedOptions {
  /** Add the mirrored image's embedding before normalising (default true). */
  flip?: boolean;
  /** Images per embedder call (default 32). */
  batchSize?: number;
  /** Normalise the output rows (default true). */
  normalize?: boolean;
  onProgress?: OnProgress;
}

/** images (n, each S×S) -> n × D Float32Array, normalise(f(x) [+ f(flip x)]). */
export async function embedImages(
  embedder: Embedder,
  images: readonly RgbImage[],
  opts: EmbedOptions = {},
): Promise<Float32Array> {
  const flip = opts.flip ?? true;
  const bs = opts.batchSize ?? 32;
  const d = embedder.embeddingDim;
  const s = embedder.inputSize;
  const out = new Float32Array(images.length * d);
  for (let i = 0; i < images.length; i += bs) {
    const chunk = images.slice(i, i + bs);
    const e = await embedder.embed(packImages(chunk, s), chunk.length);
    if (flip) {
      const ef = await embedder.embed(packImages(chunk, s, true), chunk.length);
      for (let k = 0; k < e.length; k++) e[k] = (e[k] as number) + (ef[k] as number);
    }
    for (let k = 0; k < e.length; k++) {
      if (!Number.isFinite(e[k]))
        throw new FaceMaeError(
          `embedder ${embedder.name} produced a non-finite value for image ${i + Math.floor(k / d)}`,
        );
    }
    out.set(e, i * d);
    opts.onProgress?.(Math.min(images.length, i + bs), images.length, 'embedding');
  }
  return opts.normalize === false ? out : normalizeRowsInPlace(out, d);
}
