/**
 * A FaceSource is any indexed, labelled set of face images (an image folder, a RecordIO
 * `train.rec`), so the loader and trainers do not care where the pixels come from.
 */
import type { FaceRecord, RgbImage } from '../types.js';
import fs from 'node:fs';
import {
  listImageFolder,
  readImage,
  type ImageFolder,
  type OnWarning,
  type ReadImageOptions,
} from './image-folder.js';
import { openRecordIO, resolveRecPath } from './recordio.js';

export interface FaceSource {
  /** For messages, e.g. the folder or .rec path. */
  readonly name: string;
  /** Number of images. */
  readonly length: number;
  /** identities[label] names the identity (folder name, or the label number for a .rec). */
  readonly identities: string[];
  /** Record of image i (no decoding): path or `file.rec#index`, label, identity. */
  record(i: number): FaceRecord;
  /** Decodes image i to RGB (resized or refused per opts). */
  read(i: number, opts?: ReadImageOptions): Promise<RgbImage>;
  /** Releases file handles (a no-op for folders). */
  close(): Promise<void>;
}

/**
 * A source over listed image files (`listImageFolder`'s output, or any records).
 * `identities` defaults to the labels' identity names.
 */
export function folderSource(folder: ImageFolder | FaceRecord[], name = 'records'): FaceSource {
  const records = Array.isArray(folder) ? folder : folder.records;
  let identities: string[];
  if (Array.isArray(folder)) {
    identities = [];
    for (const r of records) if (identities[r.label] === undefined) identities[r.label] = r.identity;
    identities = Array.from(identities, (v, i) => v ?? String(i));
  } else {
    identities = folder.identities;
  }
  return {
    name,
    length: records.length,
    identities,
    record(i) {
      const r = records[i];
      if (!r) throw new RangeError(`record index ${i} out of range [0, ${records.length})`);
      return r;
    },
    read(i, opts) {
      return readImage(this.record(i).path, opts);
    },
    async close() {},
  };
}

/**
 * Opens a training set: a .rec (or a folder holding train.rec, or a prefix with PREFIX.rec) as a
 * RecordIO source, otherwise an identity-folder tree.
 */
export async function openFaceSource(
  spec: string,
  opts: { onWarning?: OnWarning } = {},
): Promise<FaceSource> {
  const rec = resolveRecPath(spec);
  if (spec.endsWith('.rec') || fs.existsSync(rec)) return openRecordIO(spec);
  return folderSource(await listImageFolder(spec, opts), spec);
}
