/**
 * protect(A): the attacker applies the known protection to the public set A with the project's one
 * protection pipeline (protectDataset, as the release was made), with its
 * own seed (the release's seeds are secret), on a fixed subset of A. Resumable: a second audit of
 * the same protection reuses the folder.
 */
import path from 'node:path';
import { firstImagesPerIdentity, keyOf } from '../protect/privacy-audit.js';
import type { FaceRecord } from '../types.js';
import { FaceMaeError } from '../core/errors.js';
import { RELEASE_IMAGES } from '../data/release.js';
import { protectDataset } from '../protect/protect-dataset.js';
import { protectionName, type Protection } from '../protect/protection.js';
import type { OnProgress } from '../types.js';

/**
 * The fixed subset of A the attacker protects and fits on: the first `perIdentity` images (sorted)
 * of each identity (null: all), as keys for the attack and as `<identity>/<image>` files for
 * protectPublicSet.
 */
export function publicSubset(
  records: readonly FaceRecord[],
  perIdentity: number | null,
): { keys: Set<string> | undefined; files: string[] } {
  const keys = perIdentity === null ? undefined : firstImagesPerIdentity(records, perIdentity);
  const files = records
    .filter((r) => !keys || keys.has(keyOf(r)))
    .map((r) => `${r.identity}/${path.basename(r.path)}`);
  return { keys, files };
}

/**
 * Writes protect(A) for `files` (`<identity>/<image>` under `data`) into the run folder `out` and
 * returns the folder holding its identity folders (`data` itself for the original).
 */
export async function protectPublicSet(opts: {
  protection: Protection;
  data: string;
  out: string;
  files: string[];
  seed: number;
  size?: number;
  onProgress?: OnProgress;
}): Promise<string> {
  const p = opts.protection;
  if (p.method === 'original') return opts.data;
  if (p.method === 'facemae' && !p.model)
    throw new FaceMaeError(
      `the attacker needs FaceMAE's public model to make protect(A) for ${protectionName(p)}: pass the reconstructor (--mae-model) or audit a reconstruct output whose config.json names it`,
      'E_CONFIG',
    );
  await protectDataset(opts.data, p, opts.out, {
    seed: opts.seed,
    ...(opts.size !== undefined && p.method !== 'facemae' ? { size: opts.size } : {}),
    select: { files: opts.files },
    resume: true,
    onProgress: opts.onProgress,
  });
  return path.join(opts.out, RELEASE_IMAGES);
}
