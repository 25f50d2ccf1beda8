/**
 * The restoration a masked release invites: the attacker finds the removed patches (flat at the
 * fill value) and fills them with FaceMAE's public reconstructor, visible patches kept. It is the
 * data-processing check made an attacker: a FaceMAE release is a function of the masked face, so
 * a masked release can never be more private than what this restoration recovers.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMaeRun } from '../deploy/load-mae.js';
import { imagesToTensor, tensorToImages } from '../data/loader.js';
import { maskingFromNoise } from '../models/mae/masking.js';
import { DEFAULT_MASK_FILL, DEFAULT_PATCH_SIZE } from '../protect/distortions.js';
import type { RgbImage } from '../types.js';

/** The public FaceMAE the project ships (the attacker's default reconstructor). */
export const SHIPPED_MAE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../assets/models/facemae-tiny',
);

export interface Inpainter {
  /** The reconstructor's content fingerprint (part of the embedding cache key). */
  readonly id: string;
  /** Same-size images in, the same images with their removed patches reconstructed out. */
  inpaint(images: RgbImage[]): Promise<RgbImage[]>;
  dispose(): void;
}

/**
 * The patches of `img` that were removed: at least 90% of their values within 8 grey levels of
 * `fill` (JPEG leaves a flat patch flat but for a few values at its edges; a face patch is never
 * that flat). Returns [L] with 1 = removed.
 */
export function removedPatches(img: RgbImage, p: number, fill: number): Uint8Array {
  const gw = Math.floor(img.width / p);
  const gh = Math.floor(img.height / p);
  const out = new Uint8Array(gw * gh);
  for (let gy = 0; gy < gh; gy++)
    for (let gx = 0; gx < gw; gx++) {
      let near = 0;
      for (let y = gy * p; y < (gy + 1) * p; y++)
        for (let x = gx * p; x < (gx + 1) * p; x++)
          for (let c = 0; c < 3; c++)
            if (Math.abs((img.data[(y * img.width + x) * 3 + c] as number) - fill) <= 8) near++;
      out[gy * gw + gx] = near >= 0.9 * p * p * 3 ? 1 : 0;
    }
  return out;
}

/** Loads FaceMAE's reconstructor (a train-mae run or compact export) as an inpainter. */
export async function createMaeInpainter(
  model: string,
  opts: { patchSize?: number; fill?: number } = {},
): Promise<Inpainter> {
  const loaded = await loadMaeRun(model);
  const { mae, config } = loaded;
  const p = opts.patchSize ?? DEFAULT_PATCH_SIZE;
  const fill = opts.fill ?? DEFAULT_MASK_FILL;
  const L = mae.numPatches;
  return {
    id: loaded.provenance.modelFingerprint,
    async inpaint(images) {
      const out = [...images];
      // images with the same number of removed patches go through the MAE together
      const groups = new Map<number, { k: number; mask: Uint8Array }[]>();
      images.forEach((img, k) => {
        if (img.width !== config.imageSize || p !== config.patchSize) return; // not what the MAE masks
        const mask = removedPatches(img, p, fill);
        const removed = mask.reduce((a, b) => a + b, 0);
        if (removed === 0 || removed >= L) return; // nothing to fill, or nothing to fill it from
        groups.set(removed, [...(groups.get(removed) ?? []), { k, mask }]);
      });
      for (const [removed, members] of groups) {
        // kept patches get the lowest noise, so the masking keeps exactly them
        const noise = new Float32Array(members.length * L);
        members.forEach(({ mask }, j) => noise.set(mask, j * L));
        const kept = L - removed;
        const m = maskingFromNoise(noise, members.length, L, 1 - (kept + 0.5) / L);
        const x = imagesToTensor(members.map(({ k }) => images[k]!));
        const y = mae.reconstruct(x, m);
        x.dispose();
        const imgs = await tensorToImages(y);
        y.dispose();
        members.forEach(({ k }, j) => (out[k] = imgs[j]!));
      }
      return out;
    },
    dispose: () => mae.dispose(),
  };
}
