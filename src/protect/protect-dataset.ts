/**
 * The one protection pipeline: protectDataset(source, protection, out) applies FaceMAE or a
 * baseline (protectors.ts) to every image of an identity folder or .rec and writes a release in
 * the one layout (data/release.ts): out/images/<identity>/<file>, out/manifest.jsonl,
 * out/config.json. `reconstruct`, `distort`, the sweep, protect(A) and the queue workers all run it.
 *
 * Whatever the protection: the output is guarded (core/out-guard.ts: never an input, one run at a
 * time, nothing replaced without overwrite); each image is written atomically and only then its
 * manifest line appended, so a killed run resumes from the manifest (resume) without redoing or
 * losing an image, and only with the seed and settings it was made with. Memory is bounded:
 * images stream through in batches, the next one read while the current one is protected.
 */
import fs from 'node:fs';
import path from 'node:path';
import { saveResolvedConfig } from '../config/resolve.js';
import { FaceMaeError } from '../core/errors.js';
import { resolveInside } from '../core/fs.js';
import { guardOutDir, withOutLock, type GuardedInput } from '../core/out-guard.js';
import { MAX_IMAGE_SIDE, writeImage, type OnWarning } from '../data/image-folder.js';
import { packImageFolder } from '../data/recordio.js';
import { datasetRoot, RELEASE_IMAGES, RELEASE_MANIFEST } from '../data/release.js';
import { openFaceSelection, sourceRecords, type FaceSource, type SourceSelection } from '../data/source.js';
import type { OnProgress, RgbImage } from '../types.js';
import { appendManifest, checkResumable, openManifest, releaseOutput, type ReleaseLine } from './manifest.js';
import {
  checkProtectionInput,
  createProtector,
  type ProtectionInput,
  type Protector,
  type ReleaseFormat,
} from './protectors.js';

export type { ProtectionInput, ReleaseFormat } from './protectors.js';

export interface ProtectOptions {
  /** Seed of the masks / noise (default 0); an image's output depends only on it and its key. */
  seed?: number;
  /** Baselines: resize inputs to size×size first (default: the first image's size when square). */
  size?: number;
  /** Images protected at once (FaceMAE: the model's batch, default 32; baselines: 16). */
  batchSize?: number;
  /** JPEG quality for .jpg outputs (default 95). */
  quality?: number;
  /** 'folder' (default); 'rec': also out/data.rec/.idx packed at the end. */
  format?: ReleaseFormat;
  /** Only these images of the input (a queue shard, protect(A)'s subset); default all. */
  select?: SourceSelection;
  /** Manifest path relative to `out` (default manifest.jsonl); each queue shard keeps its own. */
  manifestName?: string;
  /** false: leave out/config.json alone (the queue producer writes one for the whole job). Default true. */
  saveConfig?: boolean;
  /** 'throw' (default): an unreadable image stops the run; 'skip': it is listed in `errors`, the rest done. */
  onImageError?: 'throw' | 'skip';
  /** Write the output even when the protection leaves the images (nearly) unchanged. */
  allowNoProtection?: boolean;
  /** false: the caller holds the output's lock (a queue worker, under its producer's); see guardOutDir. */
  lock?: boolean;
  /** Awaited after each batch is on disk (a queue worker reports progress and may be paced here). */
  afterBatch?: (finished: number, total: number) => Promise<void>;
  resume?: boolean;
  overwrite?: boolean;
  onProgress?: OnProgress;
  onWarning?: OnWarning;
}

/** An image that could not be read, with the reader's message. */
export interface ImageError {
  source: string;
  message: string;
}

export interface ProtectResult {
  out: string;
  /** Images of the input (or of its selection). */
  images: number;
  /** Images done in this call (the rest were already in the manifest). */
  written: number;
  skipped: number;
  identities: number;
  manifest: string;
  rec?: string;
  /** Unreadable images (only with onImageError 'skip'); not in the manifest, redone on resume. */
  errors: ImageError[];
}

/** Images decoded at once. */
const READ_CONCURRENCY = 8;

/** An integer option in [lo, hi]; the error names the key and the value. */
export function checkInt(key: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new FaceMaeError(
      `${key} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`,
      'E_CONFIG',
      {
        key,
      },
    );
}

function checkOptions(opts: ProtectOptions): void {
  checkInt('seed', opts.seed ?? 0, 0, 2 ** 32 - 1);
  if (opts.batchSize !== undefined) checkInt('batchSize', opts.batchSize, 1, 4096);
  if (opts.quality !== undefined) checkInt('quality', opts.quality, 1, 100);
  if (opts.size !== undefined) checkInt('size', opts.size, 1, MAX_IMAGE_SIDE);
  const format = opts.format ?? 'folder';
  if (format !== 'folder' && format !== 'rec')
    throw new FaceMaeError(`format must be folder or rec, got "${String(format)}"`, 'E_CONFIG', {
      key: 'format',
    });
  const onError = opts.onImageError ?? 'throw';
  if (onError !== 'skip' && onError !== 'throw')
    throw new FaceMaeError(`onImageError must be throw or skip, got "${String(onError)}"`, 'E_CONFIG');
}

/**
 * A distort output of the layout before data/release.ts (`OUT/<identity>/<file>`, no manifest)
 * still reads as a dataset, but cannot be continued into the images/ layout: refused by name.
 */
function checkNotEarlierLayout(out: string, manifestFile: string): void {
  if (fs.existsSync(path.join(out, RELEASE_IMAGES)) || fs.existsSync(manifestFile)) return;
  let command: unknown;
  try {
    command = (JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { command?: unknown })
      .command;
  } catch {
    return;
  }
  const folders = fs
    .readdirSync(out, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== '.queue');
  if (command === 'distort' && folders.length > 0)
    throw new FaceMaeError(
      `cannot resume ${out}: it holds a distort output of the earlier layout (<identity>/<file> directly in it, no ${RELEASE_MANIFEST}); it still reads as a dataset, but continue it into another --out`,
      'E_RESUME_MISMATCH',
    );
}

/** Protects a dataset into a release; see the module comment. */
export async function protectDataset(
  source: string,
  protection: ProtectionInput,
  out: string,
  opts: ProtectOptions = {},
): Promise<ProtectResult> {
  checkOptions(opts);
  // known before anything is loaded: refused before out is touched
  checkProtectionInput(protection, opts.allowNoProtection);
  const inputs: GuardedInput[] = [{ key: 'data', path: source }];
  if (typeof protection.model === 'string')
    inputs.push({ key: 'model', path: protection.model, outMayBeInside: true });
  const lock = guardOutDir(out, {
    inputs,
    command: protection.method === 'facemae' ? 'reconstruct' : 'distort',
    resume: opts.resume,
    overwrite: opts.overwrite,
    lock: opts.lock,
    onWarning: opts.onWarning,
  });
  return withOutLock(lock, () => protectLocked(source, protection, out, opts));
}

async function protectLocked(
  source: string,
  protection: ProtectionInput,
  out: string,
  opts: ProtectOptions,
): Promise<ProtectResult> {
  const data = datasetRoot(source);
  const images = await openFaceSelection(data, opts.select, { onWarning: opts.onWarning });
  let protector: Protector | undefined;
  try {
    protector = await createProtector(protection, {
      source,
      data,
      out,
      seed: opts.seed ?? 0,
      batchSize: opts.batchSize,
      size: opts.size,
      format: opts.format ?? 'folder',
      allowNoProtection: opts.allowNoProtection,
      onWarning: opts.onWarning,
      images,
    });
    const manifest = path.join(out, opts.manifestName ?? RELEASE_MANIFEST);
    if (opts.resume) checkNotEarlierLayout(out, manifest);
    const done = openManifest(manifest, opts.resume);
    checkResumable(out, done, protector.template);
    if (opts.saveConfig ?? true) saveResolvedConfig(out, protector.command, protector.config);
    const r = await protectImages(images, data, out, manifest, done, protector, opts);
    let rec: string | undefined;
    if (opts.format === 'rec')
      rec = (
        await packImageFolder(path.join(out, RELEASE_IMAGES), path.join(out, 'data'), {
          overwrite: true,
          verify: false,
        })
      ).rec;
    return {
      out,
      ...r,
      identities: new Set(sourceRecords(images).map((x) => x.identity)).size,
      manifest,
      ...(rec ? { rec } : {}),
    };
  } finally {
    protector?.dispose();
    await images.close();
  }
}

/** The loop: the images not in the manifest, a batch at a time, the next batch read ahead. */
async function protectImages(
  images: FaceSource,
  data: string,
  out: string,
  manifest: string,
  done: ReadonlyMap<string, ReleaseLine>,
  protector: Protector,
  opts: ProtectOptions,
): Promise<{ images: number; written: number; skipped: number; errors: ImageError[] }> {
  const total = images.length;
  const todo: number[] = [];
  for (let i = 0; i < total; i++) if (!done.has(images.record(i).path)) todo.push(i);
  const errors: ImageError[] = [];
  const readOne = async (i: number): Promise<RgbImage | undefined> => {
    try {
      return await images.read(i, protector.read);
    } catch (e) {
      if (opts.onImageError !== 'skip') throw e;
      errors.push({ source: images.record(i).path, message: e instanceof Error ? e.message : String(e) });
      return undefined;
    }
  };
  const readBatch = async (indices: number[]) => {
    const got: Array<RgbImage | undefined> = new Array(indices.length);
    let next = 0;
    const worker = async () => {
      for (let k = next++; k < indices.length; k = next++) got[k] = await readOne(indices[k]!);
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, indices.length) }, worker));
    return got;
  };
  const batches: number[][] = [];
  for (let i = 0; i < todo.length; i += protector.batchSize)
    batches.push(todo.slice(i, i + protector.batchSize));
  let finished = total - todo.length;
  let written = 0;
  opts.onProgress?.(finished, total, protector.label);
  let ahead = batches[0] ? readBatch(batches[0]) : undefined;
  for (let b = 0; b < batches.length; b++) {
    const pixels = await (ahead as Promise<Array<RgbImage | undefined>>);
    ahead = batches[b + 1] ? readBatch(batches[b + 1]!) : undefined;
    ahead?.catch(() => {}); // surfaced when awaited
    const items = batches[b]!.flatMap((i, k) => {
      const image = pixels[k];
      const record = images.record(i);
      return image ? [{ record, image, output: releaseOutput(data, record) }] : [];
    });
    const protectedImages = items.length > 0 ? await protector.apply(items) : [];
    await Promise.all(
      protectedImages.map(({ image, line }, k) =>
        writeImage(resolveInside(out, line.output, items[k]!.record.path), image, {
          quality: opts.quality ?? 95,
        }),
      ),
    );
    appendManifest(
      manifest,
      protectedImages.map((p) => p.line),
    );
    written += protectedImages.length;
    finished += batches[b]!.length;
    opts.onProgress?.(finished, total, protector.label);
    await opts.afterBatch?.(finished, total);
  }
  return { images: total, written, skipped: total - todo.length, errors };
}
