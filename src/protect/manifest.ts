/**
 * A release's manifest.jsonl (layout: data/release.ts): one JSON line per finished image, appended
 * only once the image is on disk, so a killed run resumes from it without redoing or losing an
 * image. FaceMAE and the baselines write the same format (FaceMAE's line, shared with the browser
 * app, is deploy/masks.ts's), one process or queue shards alike; this is its one reader.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { RELEASE_IMAGES } from '../data/release.js';
import { recordFileName } from '../data/source.js';
import type { ManifestLine } from '../deploy/masks.js';
import type { FaceRecord } from '../types.js';
import type { DistortionMethod } from './distortions.js';

export type { ManifestLine } from '../deploy/masks.js';

/** A baseline's line: the fields every line has, then the distortion's settings. */
export interface DistortManifestLine {
  source: string;
  output: string;
  identity: string;
  seed: number;
  method: DistortionMethod;
  strength: number;
  patchSize?: number;
  fill?: number;
  /** The side inputs were resized to, when given. */
  size?: number;
}

/** One line of a release's manifest: FaceMAE's (with its kept patches) or a baseline's. */
export type ReleaseLine = ManifestLine | DistortManifestLine;

/**
 * An image's output path relative to the run folder: `images/<identity>/<file>` as in the input
 * (`<index>.jpg` for a .rec record). `data` is the input's identity-folder root.
 */
export function releaseOutput(data: string, r: FaceRecord): string {
  const rel = r.path.includes('.rec#')
    ? `${r.identity}/${recordFileName(r)}`
    : path.relative(data, r.path).split(path.sep).join('/');
  return `${RELEASE_IMAGES}/${rel}`;
}

/** The lines of a manifest by source (the last line of a source wins); a torn last line is skipped. */
export function readManifest(file: string): Map<string, ReleaseLine> {
  const lines = new Map<string, ReleaseLine>();
  if (!fs.existsSync(file)) return lines;
  for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!l.trim()) continue;
    try {
      const m = JSON.parse(l) as ReleaseLine;
      if (typeof m.source === 'string') lines.set(m.source, m);
    } catch {
      // a torn last line from a kill: that image is redone
    }
  }
  return lines;
}

/**
 * A run's start on its manifest: resume reads the finished lines and ends a torn last line (a
 * kill mid-append), so the lines appended next stay whole; a fresh run starts it empty.
 */
export function openManifest(file: string, resume: boolean | undefined): Map<string, ReleaseLine> {
  if (!resume) {
    fs.rmSync(file, { force: true });
    return new Map();
  }
  const done = readManifest(file);
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) fs.appendFileSync(file, '\n');
  }
  return done;
}

/** Appends lines (images already on disk) to a manifest. */
export function appendManifest(file: string, lines: readonly ReleaseLine[]): void {
  if (lines.length > 0) fs.appendFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

/**
 * What every line of one release shares and a resume must match: the seed and the protection's
 * settings (FaceMAE's absent pasteBack is 1).
 */
export function releaseStamp(line: ReleaseLine): Record<string, unknown> {
  if ('keep' in line) return { seed: line.seed, maskRatio: line.maskRatio, pasteBack: line.pasteBack ?? 1 };
  const { method, strength, patchSize, fill, size } = line;
  return { seed: line.seed, method, strength, patchSize, fill, size };
}

/**
 * The one resume check: every finished line of `done` must have been made as `template` would be;
 * the error names the run folder and the settings that differ.
 */
export function checkResumable(
  out: string,
  done: ReadonlyMap<string, ReleaseLine>,
  template: ReleaseLine,
): void {
  const want = releaseStamp(template);
  const show = (s: Record<string, unknown>, keys: string[]) =>
    keys.map((k) => `${k} ${s[k] === undefined ? '(unset)' : String(s[k])}`).join(', ');
  for (const line of done.values()) {
    const have = releaseStamp(line);
    const keys = [...new Set([...Object.keys(have), ...Object.keys(want)])];
    const differ = keys.filter((k) => have[k] !== want[k]);
    if (differ.length > 0)
      throw new FaceMaeError(
        `cannot resume ${out}: its images were made with ${show(have, differ)}, not ${show(want, differ)}; resume with the same settings, or use another --out or --overwrite`,
        'E_RESUME_MISMATCH',
      );
  }
}
