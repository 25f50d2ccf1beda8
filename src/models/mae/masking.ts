/**
 * Per-sample random masking (facebookresearch/mae models_mae.py `random_masking`): argsort of
 * per-sample uniform noise; the first `floor(L·(1−ratio))` indices are kept. Computed on the CPU
 * from the seeded Rng (so masks are reproducible and resumable) and applied in the model as
 * one-hot matmuls (no gather gradient needed on wasm).
 */
import { FaceMaeError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';

export interface Masking {
  n: number;
  /** Patches per image. */
  numPatches: number;
  /** Kept patches per image. */
  lenKeep: number;
  /** [n, lenKeep] indices of the visible patches, in shuffled order. */
  idsKeep: Int32Array;
  /** [n, L] position of each patch in the shuffled order (unshuffle). */
  idsRestore: Int32Array;
  /** [n, L] 1 = removed, 0 = kept. */
  mask: Float32Array;
  /** [n, L] the noise it was built from (exported to reproduce the masking elsewhere, e.g. ONNX). */
  noise: Float32Array;
}

/** Number of visible patches for a ratio. */
export function lenKeepFor(numPatches: number, ratio: number): number {
  if (!(ratio >= 0 && ratio < 1))
    throw new FaceMaeError(`mask ratio must be in [0, 1), got ${ratio}`, 'E_CONFIG');
  return Math.max(1, Math.floor(numPatches * (1 - ratio)));
}

/** Builds a masking from noise [n, L] (ascending noise = kept first, ties by index). */
export function maskingFromNoise(noise: Float32Array, n: number, numPatches: number, ratio: number): Masking {
  if (noise.length !== n * numPatches)
    throw new FaceMaeError(`mask noise has ${noise.length} values, expected ${n}×${numPatches}`);
  const lenKeep = lenKeepFor(numPatches, ratio);
  const idsKeep = new Int32Array(n * lenKeep);
  const idsRestore = new Int32Array(n * numPatches);
  const mask = new Float32Array(n * numPatches).fill(1);
  const order = new Array<number>(numPatches);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < numPatches; i++) order[i] = i;
    const base = s * numPatches;
    order.sort((a, b) => (noise[base + a] as number) - (noise[base + b] as number) || a - b);
    for (let r = 0; r < numPatches; r++) {
      const id = order[r] as number;
      idsRestore[base + id] = r;
      if (r < lenKeep) {
        idsKeep[s * lenKeep + r] = id;
        mask[base + id] = 0;
      }
    }
  }
  return { n, numPatches, lenKeep, idsKeep, idsRestore, mask, noise };
}

/** Draws the noise from `rng` and builds the masking. */
export function randomMasking(n: number, numPatches: number, ratio: number, rng: Rng): Masking {
  return maskingFromNoise(rng.uniformArray(n * numPatches), n, numPatches, ratio);
}

/** [n, lenKeep, L] one-hot selection matrices: row r of sample s picks patch idsKeep[s,r]. */
export function keepOneHot(m: Masking): Float32Array {
  const out = new Float32Array(m.n * m.lenKeep * m.numPatches);
  for (let s = 0; s < m.n; s++) {
    for (let r = 0; r < m.lenKeep; r++)
      out[(s * m.lenKeep + r) * m.numPatches + (m.idsKeep[s * m.lenKeep + r] as number)] = 1;
  }
  return out;
}
