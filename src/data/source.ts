/**
 * A FaceSource is any indexed, labelled set of face images (an image folder, a RecordIO
 * `train.rec`), so the loader and trainers do not care where the pixels come from.
 */
import type { FaceRecord } from '../types.js';
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { listImageFolder, readImage, type ImageFolder, type OnWarning } from './image-folder.js';
import { openRecordIO, resolveRecPath } from './recordio.js';
import type { FaceSource } from './face-source.js';

export type { FaceSource } from './face-source.js';

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

/** True when `spec` names a RecordIO set (a .rec, a folder holding train.rec, or a PREFIX with PREFIX.rec). */
export function isRecordIOSpec(spec: string): boolean {
  return spec.endsWith('.rec') || fs.existsSync(resolveRecPath(spec));
}

/**
 * The file name an image has in an identity-folder copy of its set: its own name for a file,
 * `<index>.jpg` for a .rec record (how reconstruct and distort write .rec inputs).
 */
export function recordFileName(r: FaceRecord): string {
  const h = r.path.lastIndexOf('.rec#');
  return h >= 0 ? `${r.path.slice(h + 5)}.jpg` : path.basename(r.path);
}

/** All records of a source, in order (no decoding). */
export function sourceRecords(src: FaceSource): FaceRecord[] {
  return Array.from({ length: src.length }, (_, i) => src.record(i));
}

/**
 * Restricts a source to some of its images (`indices`, in that order); closing it leaves `src`
 * open. With `errors`, an unreadable image is recorded there (path -> message) and read as a
 * black placeholder, so one bad file does not stop a batch; the caller writes nothing for it.
 */
export function subsetSource(
  src: FaceSource,
  indices: readonly number[],
  errors?: Map<string, string>,
): FaceSource {
  return {
    name: src.name,
    length: indices.length,
    identities: src.identities,
    record: (i) => src.record(indices[i] as number),
    read: async (i, o) => {
      if (!errors) return src.read(indices[i] as number, o);
      try {
        return await src.read(indices[i] as number, o);
      } catch (e) {
        const size = o?.size ?? 1;
        errors.set(src.record(indices[i] as number).path, e instanceof Error ? e.message : String(e));
        return { width: size, height: size, data: new Uint8Array(size * size * 3) };
      }
    },
    close: () => Promise.resolve(),
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
  if (isRecordIOSpec(spec)) return openRecordIO(spec);
  return folderSource(await listImageFolder(spec, opts), spec);
}

/** The records of an identity folder or .rec, in order (opened and closed again). */
export async function listSourceRecords(
  spec: string,
  opts: { onWarning?: OnWarning } = {},
): Promise<FaceRecord[]> {
  const src = await openFaceSource(spec, opts);
  try {
    return sourceRecords(src);
  } finally {
    await src.close();
  }
}

/**
 * A part of a source, as a queue shard names it: a range of indices [start, end) in the source's
 * order (cheap to send for a .rec), or image files relative to an identity-folder root.
 */
export type SourceSelection = { start: number; end: number } | { files: string[] };

/** Restricts a source to the indices [start, end). */
export function rangeSource(src: FaceSource, start: number, end: number): FaceSource {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= src.length))
    throw new FaceMaeError(
      `range [${start}, ${end}) is not inside ${src.name} (${src.length} images)`,
      'E_RANGE',
    );
  return {
    name: `${src.name}[${start}:${end}]`,
    length: end - start,
    identities: src.identities,
    record: (i) => src.record(start + i),
    read: (i, o) => src.read(start + i, o),
    close: () => src.close(),
  };
}

/**
 * Records of some files under an identity-folder root, without listing the root (a shard of a
 * large folder). `files` are `<identity>/<image>` relative paths; labels are dense over the
 * identities in the order they first appear.
 */
export function fileRecords(root: string, files: string[]): FaceRecord[] {
  const labels = new Map<string, number>();
  return files.map((rel) => {
    const parts = rel.split('/');
    const identity = parts[0] ?? '';
    if (parts.length !== 2 || parts.some((q) => q === '' || q === '.' || q === '..'))
      throw new FaceMaeError(`"${rel}" is not an <identity>/<image> path under ${root}`, 'E_BAD_PATH');
    if (!labels.has(identity)) labels.set(identity, labels.size);
    return {
      path: path.join(root, identity, parts[1] as string),
      label: labels.get(identity) as number,
      identity,
    };
  });
}

/** Opens `spec` (see openFaceSource) restricted to `select`, or whole when it is undefined. */
export async function openFaceSelection(
  spec: string,
  select: SourceSelection | undefined,
  opts: { onWarning?: OnWarning } = {},
): Promise<FaceSource> {
  if (select && 'files' in select) return folderSource(fileRecords(spec, select.files), spec);
  const src = await openFaceSource(spec, opts);
  return select ? rangeSource(src, select.start, select.end) : src;
}
