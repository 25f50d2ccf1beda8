/**
 * Where a protected dataset (a release) keeps its parts, whatever protected it (FaceMAE or a
 * baseline; one process or a queue): `OUT/images/<identity>/<file>` (an identity-folder dataset),
 * `OUT/manifest.jsonl` (one line per finished image) and `OUT/config.json` (the resolved run).
 * Here, below every reader, so any verb given a release's run folder reads its images.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The release's identity folders, relative to its run folder. */
export const RELEASE_IMAGES = 'images';
/** The release's manifest, relative to its run folder. */
export const RELEASE_MANIFEST = 'manifest.jsonl';

const isDir = (p: string) => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** The verbs whose config.json marks a release's run folder. */
const PROTECTING_COMMANDS: readonly string[] = ['reconstruct', 'distort'];

/**
 * True when `dir` is a release's run folder: images/ beside a manifest or a protecting verb's
 * config.json (so a plain dataset with an identity called "images" is not taken for one).
 */
export function isReleaseRoot(dir: string): boolean {
  if (!isDir(path.join(dir, RELEASE_IMAGES))) return false;
  if (fs.existsSync(path.join(dir, RELEASE_MANIFEST))) return true;
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { command?: unknown };
    return typeof c.command === 'string' && PROTECTING_COMMANDS.includes(c.command);
  } catch {
    return false;
  }
}

/**
 * The identity-folder root of a dataset given as `dir`: a release's run folder reads as its
 * images/; anything else (an images/ folder, a plain dataset, a distort output of the earlier
 * `OUT/<identity>/<file>` layout) as itself.
 */
export function datasetRoot(dir: string): string {
  return isReleaseRoot(dir) ? path.join(dir, RELEASE_IMAGES) : dir;
}

/** The run folder of a release given as its run folder or as its images/ (config.json, manifest). */
export function releaseRunDir(dir: string): string {
  const abs = path.resolve(dir);
  return !isReleaseRoot(abs) && path.basename(abs) === RELEASE_IMAGES && isReleaseRoot(path.dirname(abs))
    ? path.dirname(abs)
    : dir;
}
