/**
 * Applies one baseline protection to a whole dataset (an identity folder or a .rec), writing an
 * identity-folder layout (`<out>/<identity>/<file>`; `<index>.jpg` for a .rec record). Streams one image at a time (bounded memory), writes atomically,
 * resumes by skipping finished files, and saves its resolved config as `<out>/config.json`.
 * Each image draws from `rng.fork(<identity>/<file>)`, so the output is the same whatever the
 * order or the number of resumes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { saveResolvedConfig } from '../config/resolve.js';
import { FaceMaeError } from '../core/errors.js';
import { readJson } from '../core/fs.js';
import { guardOutDir, withOutLock } from '../core/out-guard.js';
import { createRng } from '../core/rng.js';
import { MAX_IMAGE_SIDE, onceWarning, writeImage, type OnWarning } from '../data/image-folder.js';
import { fileRecords, folderSource, openFaceSource, recordFileName, sourceRecords } from '../data/source.js';
import type { OnProgress } from '../types.js';
import type { FaceSource } from '../data/face-source.js';
import {
  applyDistortion,
  checkDistortionSpec,
  checkProtects,
  DISTORTION_METHODS,
  type DistortionSpec,
} from './distortions.js';

export interface DistortDatasetConfig extends DistortionSpec {
  /** Identity folder or .rec (file, folder holding train.rec, or prefix). */
  data: string;
  out: string;
  seed: number;
  /**
   * Resize inputs to size×size first. Default: the size of the first (sorted) image when it is
   * square, so a stray wrong-size image is resized with a warning, as the other verbs do.
   */
  size?: number;
  /** Write the output even when the setting leaves the images (nearly) unchanged (see checkProtects). */
  allowNoProtection?: boolean;
}

/** Every key a distort config (file, flags or queued job) may hold, for checkKnownKeys. */
export const DISTORT_CONFIG_KEYS: Required<DistortDatasetConfig> = {
  method: 'mask',
  strength: 0,
  data: '',
  out: '',
  seed: 0,
  patchSize: 0,
  fill: 0,
  size: 0,
  allowNoProtection: false,
};

const checkInt = (key: string, v: unknown, lo: number, hi: number): void => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new FaceMaeError(
      `${key} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`,
      'E_CONFIG',
      {
        key,
      },
    );
};

/**
 * Checks a resolved distort config whatever it came from (flags, a config file, a queued job):
 * types, integer ranges and the method's strength range; errors name the key and the value.
 * A setting that protects nothing is refused unless allowNoProtection.
 */
export function validateDistortConfig(cfg: DistortDatasetConfig): void {
  for (const key of ['data', 'out'] as const) {
    if (typeof cfg[key] !== 'string' || cfg[key] === '')
      throw new FaceMaeError(`${key} must be a non-empty path, got ${JSON.stringify(cfg[key])}`, 'E_CONFIG', {
        key,
      });
  }
  if (typeof cfg.method !== 'string' || !DISTORTION_METHODS.includes(cfg.method))
    throw new FaceMaeError(
      `method must be one of ${DISTORTION_METHODS.join(', ')}, got ${JSON.stringify(cfg.method)}`,
      'E_CONFIG',
      { key: 'method' },
    );
  checkInt('seed', cfg.seed, 0, 2 ** 32 - 1);
  if (cfg.patchSize !== undefined) checkInt('patchSize', cfg.patchSize, 1, MAX_IMAGE_SIDE);
  if (cfg.fill !== undefined) checkInt('fill', cfg.fill, 0, 255);
  if (cfg.size !== undefined) checkInt('size', cfg.size, 1, MAX_IMAGE_SIDE);
  if (cfg.allowNoProtection !== undefined && typeof cfg.allowNoProtection !== 'boolean')
    throw new FaceMaeError(
      `allowNoProtection must be true or false, got ${JSON.stringify(cfg.allowNoProtection)}`,
      'E_CONFIG',
      { key: 'allowNoProtection' },
    );
  checkDistortionSpec(cfg);
  checkProtects(cfg, cfg.allowNoProtection);
}

export interface DistortDatasetOptions {
  resume?: boolean;
  overwrite?: boolean;
  onProgress?: OnProgress;
  onWarning?: OnWarning;
  /** Images in flight at once (decode/encode overlap); default 4. */
  concurrency?: number;
  /** Only these `<identity>/<image>` files of `data` (a queue shard); default the whole folder. */
  files?: string[];
  /** false: leave out/config.json alone (the queue producer writes one for the whole job). Default true. */
  saveConfig?: boolean;
  /** 'throw' (default): an unreadable image stops the run; 'skip': it is listed in `errors`, the rest done. */
  onImageError?: 'throw' | 'skip';
  /** false: the caller holds the output's lock (a queue worker, under its producer's); see guardOutDir. */
  lock?: boolean;
}

export interface DistortDatasetResult {
  out: string;
  total: number;
  written: number;
  /** Already present from an earlier (interrupted) run. */
  skipped: number;
  identities: number;
  /** Unreadable images (only with onImageError 'skip'); nothing is written for them. */
  errors: { source: string; message: string }[];
}

/** The keys that must match for --resume to continue an earlier output. */
const RESUME_KEYS = ['method', 'strength', 'seed', 'patchSize', 'fill', 'size'] as const;

export async function distortDataset(
  cfg: DistortDatasetConfig,
  opts: DistortDatasetOptions = {},
): Promise<DistortDatasetResult> {
  validateDistortConfig(cfg);
  const lock = guardOutDir(cfg.out, {
    inputs: [{ key: 'data', path: cfg.data }],
    command: 'distort',
    resume: opts.resume,
    overwrite: opts.overwrite,
    lock: opts.lock,
    onWarning: opts.onWarning,
  });
  return withOutLock(lock, async () => {
    const configFile = path.join(cfg.out, 'config.json');
    if (opts.resume && !opts.overwrite && fs.existsSync(configFile)) {
      const prev = readJson<{ config?: Partial<DistortDatasetConfig> }>(configFile).config ?? {};
      for (const k of RESUME_KEYS) {
        if (prev[k] !== cfg[k]) {
          throw new FaceMaeError(
            `cannot resume ${cfg.out}: it was made with ${k}=${String(prev[k])}, now ${String(cfg[k])}; use another --out or --overwrite`,
            'E_RESUME_MISMATCH',
          );
        }
      }
    }
    // a queue shard names its files; otherwise the whole folder or .rec
    const source = opts.files
      ? folderSource(fileRecords(cfg.data, opts.files), cfg.data)
      : await openFaceSource(cfg.data, { onWarning: opts.onWarning });
    try {
      return await distortSource(cfg, opts, source);
    } finally {
      await source.close();
    }
  });
}

async function distortSource(
  cfg: DistortDatasetConfig,
  opts: DistortDatasetOptions,
  source: FaceSource,
): Promise<DistortDatasetResult> {
  if (opts.saveConfig ?? true) saveResolvedConfig(cfg.out, 'distort', cfg);
  const root = createRng(cfg.seed);
  const total = source.length;
  const errors: DistortDatasetResult['errors'] = [];
  let size = cfg.size;
  if (size === undefined && total > 0) {
    // an unreadable first image is reported by the loop below, not here
    const first = await source.read(0).catch(() => undefined);
    if (first && first.width === first.height) size = first.width;
  }
  const onWarning = onceWarning(opts.onWarning);
  let done = 0;
  let written = 0;
  let skipped = 0;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const rec = source.record(i);
      const name = recordFileName(rec);
      const dst = path.join(cfg.out, rec.identity, name);
      if (opts.resume && !opts.overwrite && fs.existsSync(dst)) {
        skipped++;
      } else {
        let img;
        try {
          img = await source.read(i, size ? { size, onWarning } : {});
        } catch (e) {
          if (opts.onImageError !== 'skip') throw e;
          errors.push({ source: rec.path, message: e instanceof Error ? e.message : String(e) });
        }
        if (img) {
          let out;
          try {
            out = applyDistortion(img, cfg, root.fork(`${rec.identity}/${name}`));
          } catch (e) {
            if (!(e instanceof FaceMaeError)) throw e;
            throw new FaceMaeError(`${rec.path}: ${e.message}`, e.code, { cause: e });
          }
          await writeImage(dst, out);
          written++;
        }
      }
      opts.onProgress?.(++done, total, cfg.method);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  const identities = new Set(sourceRecords(source).map((r) => r.identity)).size;
  return { out: cfg.out, total, written, skipped, identities, errors };
}
