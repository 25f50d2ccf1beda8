/**
 * A run's dataset identity, so `--resume` cannot silently continue on other data: the sorted
 * relative file list with each file's size, hashed (no image is read). Stored in the checkpoint
 * metadata by both trainers and compared on resume.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import type { FaceRecord } from '../types.js';

export interface DatasetFingerprint {
  /** The --data the run was given (for messages). */
  data: string;
  files: number;
  bytes: number;
  /** SHA-256 over `relative/path\tsize\n` lines in record order. */
  sha256: string;
}

/** Fingerprints the records of `data`, an image folder (paths relative to it, and sizes) or a .rec (record keys and the file's size). */
export function datasetFingerprint(data: string, records: readonly FaceRecord[]): DatasetFingerprint {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  const recFiles = new Set<string>();
  for (const r of records) {
    // a .rec record (`file.rec#key`): the .rec file's size counts once, with the first record
    const hash = r.path.lastIndexOf('.rec#');
    const file = hash >= 0 ? r.path.slice(0, hash + 4) : r.path;
    let size: number;
    try {
      size = hash >= 0 && recFiles.has(file) ? 0 : fs.statSync(file).size;
      recFiles.add(file);
    } catch (e) {
      throw new FaceMaeError(
        `cannot read image ${r.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        'E_NOT_FOUND',
      );
    }
    bytes += size;
    h.update(`${path.relative(data, r.path).split(path.sep).join('/')}\t${size}\n`);
  }
  return { data, files: records.length, bytes, sha256: h.digest('hex') };
}

/**
 * Refuses to resume `out` on a dataset other than the one its checkpoint was trained on. `saved`
 * is the fingerprint from the checkpoint metadata (older runs have none: nothing to compare).
 */
export function checkResumeDataset(
  out: string,
  saved: DatasetFingerprint | undefined,
  now: DatasetFingerprint,
): void {
  if (!saved || saved.sha256 === now.sha256) return;
  throw new FaceMaeError(
    `cannot resume ${out}: it was trained on ${saved.data} (${saved.files} files, ${saved.bytes} bytes), but --data ${now.data} holds other files (${now.files} files, ${now.bytes} bytes); resume with the original --data, or start a new run in another --out`,
    'E_RESUME_MISMATCH',
  );
}
