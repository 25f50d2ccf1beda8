/**
 * The sweep's data selection: B selected from a folder (`deploy` given by limits), or B and A
 * made by a seeded split by identity (the evidence protocol). Copies, not links: the image lister
 * reads plain files only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { listImageFolder } from '../data/image-folder.js';
import { splitIdentities } from '../data/split.js';
import { firstImagesPerIdentity, keyOf } from '../protect/privacy-audit.js';
import type { FaceRecord } from '../types.js';
import type { DeploySelection, SplitConfig } from './config.js';

/** What a deploy selection copied. */
export type SelectionSummary = { identities: number; images: number };

/** What a split made (its deployment identities are listed in `<out>/split.json`). */
export type SplitSummary = {
  deployIdentities: number;
  deployImages: number;
  trainIdentities: number;
  trainImages: number;
};

/** Copies a selection of identities/images (sorted, deterministic) into `out`. */
export async function selectDeploy(sel: DeploySelection, out: string): Promise<SelectionSummary> {
  const { records, identities } = await listImageFolder(sel.dir);
  const exclude = new Set(sel.exclude ?? []);
  for (const f of sel.excludeListed ?? []) {
    if (!fs.existsSync(f))
      throw new FaceMaeError(`deploy.excludeListed file ${f} does not exist`, 'E_NOT_FOUND');
    for (const tok of fs.readFileSync(f, 'utf8').split(/\s+/))
      if (tok && !/^\d+$/.test(tok)) exclude.add(tok);
  }
  const byId = new Map<string, string[]>();
  for (const r of records) byId.set(r.identity, [...(byId.get(r.identity) ?? []), r.path]);
  const chosen = identities
    .filter((id) => !exclude.has(id) && (byId.get(id)?.length ?? 0) >= sel.minImages)
    .slice(0, sel.maxIdentities);
  if (chosen.length < 2) {
    throw new FaceMaeError(
      `deploy selection from ${sel.dir} found ${chosen.length} identities with >= ${sel.minImages} images; lower minImages`,
      'E_CONFIG',
    );
  }
  let n = 0;
  for (const id of chosen) {
    for (const f of (byId.get(id) ?? []).slice(0, sel.maxImagesPerIdentity)) {
      fs.mkdirSync(path.join(out, id), { recursive: true });
      fs.copyFileSync(f, path.join(out, id, path.basename(f)));
      n++;
    }
  }
  return { identities: chosen.length, images: n };
}

/**
 * Copies the images of `ids` from a listing into `<dst>/<prefix><id>/` (at most `max` per
 * identity, in the listing's sorted order); returns the image count.
 */
function copyIdentities(
  records: readonly FaceRecord[],
  ids: readonly string[],
  dst: string,
  opts: { prefix?: string; max?: number | null } = {},
): number {
  const wanted = new Set(ids);
  const keep = opts.max != null ? firstImagesPerIdentity(records, opts.max) : undefined;
  let n = 0;
  for (const r of records) {
    if (!wanted.has(r.identity) || (keep && !keep.has(keyOf(r)))) continue;
    const to = path.join(dst, (opts.prefix ?? '') + r.identity);
    fs.mkdirSync(to, { recursive: true });
    fs.copyFileSync(r.path, path.join(to, path.basename(r.path)));
    n++;
  }
  return n;
}

/**
 * The evidence protocol's data: B = the split's deployment identities (`<out>/deploy`), A = the
 * training folder's identities plus the split's remainder, prefixed (`<out>/train`).
 */
export async function materialiseSplit(
  trainDir: string,
  split: SplitConfig,
  out: string,
): Promise<SplitSummary> {
  const pool = await listImageFolder(split.dir);
  const s = splitIdentities(pool.identities, { seed: split.seed, deployCount: split.deployIdentities });
  const pub = await listImageFolder(trainDir);
  const deployImages = copyIdentities(pool.records, s.deploy, path.join(out, 'deploy'), {
    max: split.maxImagesPerIdentity,
  });
  const trainImages =
    copyIdentities(pub.records, pub.identities, path.join(out, 'train'), { prefix: split.trainPrefix }) +
    copyIdentities(pool.records, s.rest, path.join(out, 'train'), { prefix: split.restPrefix });
  const summary = {
    deployIdentities: s.deploy.length,
    deployImages,
    trainIdentities: pub.identities.length + s.rest.length,
    trainImages,
  };
  fs.writeFileSync(path.join(out, 'split.json'), JSON.stringify({ ...summary, deploy: s.deploy }, null, 1));
  return summary;
}
