/**
 * FaceMAE deployment: every image of a dataset of unseen identities is randomly masked and
 * reconstructed by the trained MAE (visible patches pasted back, or blended: `pasteBack`), and the reconstructions are
 * written in the same layout, to be used instead of the originals for training a recognizer.
 *
 * Reproducible and resumable: the mask of an image depends only on (seed, its relative path);
 * each output is written atomically and only then a manifest line (manifest.jsonl: source,
 * output, seed, kept patch indices) is appended, so a killed job resumes without redoing or
 * losing finished images. Memory is bounded: images stream through in batches.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { resolveInside } from '../core/fs.js';
import { guardOutDir, withOutLock, type GuardedInput } from '../core/out-guard.js';
import { saveResolvedConfig } from '../config/resolve.js';
import { openFaceSelection, recordFileName, subsetSource, type SourceSelection } from '../data/source.js';
import { createLoader, tensorToImages } from '../data/loader.js';
import { writeImage } from '../data/image-folder.js';
import { packImageFolder } from '../data/recordio.js';
import type { OnProgress } from '../types.js';
import { maskingFromNoise, lenKeepFor } from '../models/mae/masking.js';
import { checkPasteBack } from '../models/mae/mae.js';
import { loadMaeRun, type LoadedMae } from './load-mae.js';
import { batchMaskNoise, manifestLine, type ManifestLine } from './masks.js';

export { imageMaskNoise, batchMaskNoise, manifestLine, type ManifestLine } from './masks.js';

export type ReconstructFormat = 'folder' | 'rec';

export interface ReconstructOptions {
  /** A train-mae run folder, or an already loaded model. */
  model: string | LoadedMae;
  /** Image folder (<identity>/<image>) or .rec of the identities to protect. */
  data: string;
  out: string;
  /** Default: the ratio the model was trained with. */
  maskRatio?: number;
  /**
   * Weight of the real pixels on the visible patches, in [0, 1] (default 1: pasted back, as MAE
   * does); 0 releases the decoder's prediction everywhere, so no pixel of the person is copied.
   */
  pasteBack?: number;
  /** Seed of the masks (default 0). */
  seed?: number;
  /** 'folder' (default): out/images/<identity>/<file>; 'rec': also out/data.rec/.idx packed at the end. */
  format?: ReconstructFormat;
  batchSize?: number;
  /** JPEG quality for .jpg outputs (default 95). */
  quality?: number;
  resume?: boolean;
  overwrite?: boolean;
  onProgress?: OnProgress;
  onWarning?: (m: string) => void;
  /** Only these images of `data` (a queue shard); default all. */
  select?: SourceSelection;
  /** Manifest path relative to `out` (default manifest.jsonl); each queue shard keeps its own. */
  manifestName?: string;
  /** false: leave out/config.json alone (the queue producer writes one for the whole job). Default true. */
  saveConfig?: boolean;
  /** 'throw' (default): an unreadable image stops the run; 'skip': it is listed in `errors`, the rest done. */
  onImageError?: 'throw' | 'skip';
  /** Write the output even when the mask ratio removes no patch (the reconstruction is the original). */
  allowNoProtection?: boolean;
  /** false: the caller holds the output's lock (a queue worker, under its producer's); see guardOutDir. */
  lock?: boolean;
  /** Awaited after each batch is on disk (a queue worker reports progress and may be paced here). */
  afterBatch?: (finished: number, total: number) => Promise<void>;
}

/** An image that could not be read, with the reader's message. */
export interface ImageError {
  source: string;
  message: string;
}

export interface ReconstructResult {
  out: string;
  images: number;
  /** Images done in this call (the rest were already in the manifest). */
  written: number;
  skipped: number;
  manifest: string;
  rec?: string;
  /** Unreadable images (only with onImageError 'skip'); not in the manifest, redone on resume. */
  errors: ImageError[];
}

/** The key an image's mask is derived from: its path relative to the data root (or its record key). */
function relKey(data: string, source: string): string {
  if (source.includes('.rec#')) return source.slice(source.lastIndexOf('#') + 1);
  const rel = path.relative(data, source);
  return rel.split(path.sep).join('/');
}

function outputName(data: string, source: string, identity: string): string {
  if (source.includes('.rec#'))
    return `images/${identity}/${recordFileName({ path: source, identity, label: 0 })}`;
  const rel = relKey(data, source);
  return `images/${rel}`;
}

function readManifest(file: string): Map<string, ManifestLine> {
  const done = new Map<string, ManifestLine>();
  if (!fs.existsSync(file)) return done;
  for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!l.trim()) continue;
    try {
      const m = JSON.parse(l) as ManifestLine;
      done.set(m.source, m);
    } catch {
      // a torn last line from a kill: that image is redone
    }
  }
  return done;
}

function noPatchRemoved(maskRatio: number, numPatches?: number): FaceMaeError {
  return new FaceMaeError(
    `mask ratio ${maskRatio} removes none of the ${numPatches ?? ''}${numPatches ? ' ' : ''}patches, so every "reconstruction" would be the original image; use a ratio such as 0.75, or pass --allow-no-protection (allowNoProtection) to write it anyway`,
    'E_NO_PROTECTION',
    { key: 'maskRatio' },
  );
}

function checkIntOption(key: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new FaceMaeError(
      `${key} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`,
      'E_CONFIG',
      {
        key,
      },
    );
}

/** Masks and reconstructs a dataset; see the module comment. */
export async function reconstructDataset(opts: ReconstructOptions): Promise<ReconstructResult> {
  const seed = opts.seed ?? 0;
  const format = opts.format ?? 'folder';
  if (format !== 'folder' && format !== 'rec')
    throw new FaceMaeError(`format must be folder or rec, got "${String(format)}"`, 'E_CONFIG', {
      key: 'format',
    });
  const batchSize = opts.batchSize ?? 32;
  checkIntOption('seed', seed, 0, 2 ** 32 - 1);
  checkIntOption('batchSize', batchSize, 1, 4096);
  if (opts.quality !== undefined) checkIntOption('quality', opts.quality, 1, 100);
  const pasteBack = opts.pasteBack ?? 1;
  checkPasteBack(pasteBack);
  // known before the model is loaded: refused before --out is touched
  if (opts.maskRatio === 0 && !opts.allowNoProtection) throw noPatchRemoved(0);
  const inputs: GuardedInput[] = [{ key: 'data', path: opts.data }];
  if (typeof opts.model === 'string') inputs.push({ key: 'model', path: opts.model, outMayBeInside: true });
  const lock = guardOutDir(opts.out, {
    inputs,
    command: 'reconstruct',
    resume: opts.resume,
    overwrite: opts.overwrite,
    lock: opts.lock,
    onWarning: opts.onWarning,
  });
  return withOutLock(lock, () => reconstructLocked(opts, seed, format, batchSize));
}

async function reconstructLocked(
  opts: ReconstructOptions,
  seed: number,
  format: ReconstructFormat,
  batchSize: number,
): Promise<ReconstructResult> {
  const loaded = typeof opts.model === 'string' ? await loadMaeRun(opts.model) : opts.model;
  const { mae, config } = loaded;
  const maskRatio = opts.maskRatio ?? loaded.maskRatio;
  // validates the ratio; a ratio that removes no patch gives back the originals
  if (lenKeepFor(mae.numPatches, maskRatio) >= mae.numPatches && !opts.allowNoProtection)
    throw noPatchRemoved(maskRatio, mae.numPatches);
  const manifestFile = path.join(opts.out, opts.manifestName ?? 'manifest.jsonl');
  const failed = opts.onImageError === 'skip' ? new Map<string, string>() : undefined;
  if (opts.onImageError !== undefined && opts.onImageError !== 'skip' && opts.onImageError !== 'throw')
    throw new FaceMaeError(
      `onImageError must be throw or skip, got "${String(opts.onImageError)}"`,
      'E_CONFIG',
    );
  try {
    const source = await openFaceSelection(opts.data, opts.select, { onWarning: opts.onWarning });
    if (!opts.resume && fs.existsSync(manifestFile)) fs.rmSync(manifestFile);
    const done = opts.resume ? readManifest(manifestFile) : new Map<string, ManifestLine>();
    for (const m of done.values()) {
      const pb = opts.pasteBack ?? 1;
      if (m.seed !== seed || m.maskRatio !== maskRatio || (m.pasteBack ?? 1) !== pb) {
        throw new FaceMaeError(
          `${manifestFile} was made with seed ${m.seed}, mask ratio ${m.maskRatio} and paste-back ${m.pasteBack ?? 1}, not ${seed}, ${maskRatio} and ${pb}: resume with the same values or use a new out`,
          'E_CONFIG',
        );
      }
      break;
    }
    if (opts.saveConfig ?? true)
      saveResolvedConfig(opts.out, 'reconstruct', {
        model: typeof opts.model === 'string' ? opts.model : '(in memory)',
        data: opts.data,
        maskRatio,
        pasteBack: opts.pasteBack ?? 1,
        seed,
        format,
        batchSize,
        modelConfig: config,
        modelStep: loaded.step,
        // model and IRM-teacher content hashes: `facemae privacy` reads them from OUT or OUT/images
        provenance: loaded.provenance,
      });
    const todo: number[] = [];
    for (let i = 0; i < source.length; i++) if (!done.has(source.record(i).path)) todo.push(i);
    const total = source.length;
    let finished = total - todo.length;
    opts.onProgress?.(finished, total, 'reconstructing');
    let written = 0;
    if (todo.length > 0) {
      const loader = createLoader({
        source: subsetSource(source, todo, failed),
        batchSize,
        size: config.imageSize,
        onWarning: opts.onWarning,
      });
      for await (const batch of loader.epoch()) {
        const n = batch.images.shape[0];
        const L = mae.numPatches;
        const keys = batch.records.map((r) => relKey(opts.data, r.path));
        const noise = batchMaskNoise(seed, keys, L);
        const m = maskingFromNoise(noise, n, L, maskRatio);
        const rec = mae.reconstruct(batch.images, m, opts.pasteBack ?? 1);
        batch.images.dispose();
        const imgs = await tensorToImages(rec);
        rec.dispose();
        const lines: string[] = [];
        await Promise.all(
          batch.records.map(async (r, j) => {
            if (failed?.has(r.path)) return;
            const output = outputName(opts.data, r.path, r.identity);
            await writeImage(resolveInside(opts.out, output, r.path), imgs[j]!, {
              quality: opts.quality ?? 95,
            });
            const line = manifestLine(m, j, {
              source: r.path,
              output,
              identity: r.identity,
              seed,
              maskRatio,
              pasteBack: opts.pasteBack ?? 1,
            });
            lines[j] = JSON.stringify(line);
          }),
        );
        const ok = lines.filter((l) => l !== undefined);
        if (ok.length > 0) fs.appendFileSync(manifestFile, ok.join('\n') + '\n');
        written += ok.length;
        finished += n;
        opts.onProgress?.(finished, total, 'reconstructing');
        await opts.afterBatch?.(finished, total);
      }
    }
    await source.close();
    let rec: string | undefined;
    if (format === 'rec') {
      const packed = await packImageFolder(path.join(opts.out, 'images'), path.join(opts.out, 'data'), {
        overwrite: true,
        verify: false,
      });
      rec = packed.rec;
    }
    return {
      out: opts.out,
      images: total,
      written,
      skipped: total - todo.length,
      manifest: manifestFile,
      ...(rec ? { rec } : {}),
      errors: Array.from(failed ?? [], ([source, message]) => ({ source, message })),
    };
  } finally {
    if (typeof opts.model === 'string') mae.dispose();
  }
}
