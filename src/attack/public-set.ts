/**
 * protect(A): the attacker applies the known protection to the public set A with the project's one
 * protection pipeline (distortDataset for the baselines, reconstructDataset for FaceMAE), with its
 * own seed (the release's seeds are secret), on a fixed subset of A. Resumable: a second audit of
 * the same protection reuses the folder.
 */
import path from 'node:path';
import { firstImagesPerIdentity, keyOf } from '../protect/privacy-audit.js';
import type { FaceRecord } from '../types.js';
import { FaceMaeError } from '../core/errors.js';
import { reconstructDataset } from '../deploy/reconstruct.js';
import { distortDataset } from '../protect/distort-dataset.js';
import type { OnProgress } from '../types.js';
import { protectionName, type Protection } from './protection.js';

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
 * Writes protect(A) for `files` (`<identity>/<image>` under `data`) into `out` and returns the
 * folder holding its identity folders (`data` itself for the original).
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
  if (p.method === 'facemae') {
    if (!p.model)
      throw new FaceMaeError(
        `the attacker needs FaceMAE's public model to make protect(A) for ${protectionName(p)}: pass the reconstructor (--mae-model) or audit a reconstruct output whose config.json names it`,
        'E_CONFIG',
      );
    await reconstructDataset({
      model: p.model,
      data: opts.data,
      out: opts.out,
      maskRatio: p.strength,
      ...(p.pasteBack !== undefined ? { pasteBack: p.pasteBack } : {}),
      seed: opts.seed,
      select: { files: opts.files },
      resume: true,
      onProgress: opts.onProgress,
    });
    return path.join(opts.out, 'images');
  }
  await distortDataset(
    {
      method: p.method,
      strength: p.strength,
      ...(p.patchSize !== undefined ? { patchSize: p.patchSize } : {}),
      ...(p.fill !== undefined ? { fill: p.fill } : {}),
      data: opts.data,
      out: opts.out,
      seed: opts.seed,
      ...(opts.size !== undefined ? { size: opts.size } : {}),
    },
    { files: opts.files, resume: true, onProgress: opts.onProgress },
  );
  return opts.out;
}
