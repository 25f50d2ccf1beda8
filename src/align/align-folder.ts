/**
 * `facemae align`: every photo under `data` (any depth) -> a 112×112 aligned face at the same
 * relative path under `out`. Photos without a face, or that do not decode, are listed in
 * `no-face.jsonl` (never dropped silently); `align-report.json` sums up the run. Resumable: an
 * output that already exists as a complete 112×112 image is kept; every write is atomic.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { FaceMaeError } from '../core/errors.js';
import { atomicWriteFile, writeJsonAtomic } from '../core/fs.js';
import { checkOutSeparate, guardOutDir, withOutLock } from '../core/out-guard.js';
import { saveResolvedConfig } from '../config/resolve.js';
import type { OnProgress } from '../types.js';
import { alignPhoto } from './align-face.js';
import { createFaceDetector } from './detector.js';
import { decodePhoto, encodePhoto } from './image-io.js';
import { ALIGNED_SIZE } from './template.js';
import type { FaceDetector, PickMode } from './types.js';

export interface AlignConfig {
  /** Folder of raw photos (identity sub-folders or any layout). */
  data: string;
  out: string;
  /** 'faceplugin' (bundled) or 'scrfd:FILE.onnx'. */
  detector: string;
  pick: PickMode;
  /** Black border per side for the retry when nothing is found, as a fraction of the longer side (0 = no retry). */
  padRetry: number;
  /** Face box ≥ this fraction of the photo's width or height = a tight crop, searched again padded. */
  tightFraction: number;
  /** Detector score threshold; null = the detector's default. */
  threshold: number | null;
  /** onnxruntime intra-op threads per session. */
  threads: number;
}

export const DEFAULT_ALIGN_CONFIG: AlignConfig = {
  data: '',
  out: '',
  detector: 'faceplugin',
  pick: 'largest',
  padRetry: 0.25,
  tightFraction: 0.75,
  threshold: null,
  threads: 1,
};

export interface NoFaceEntry {
  /** path relative to `data` */
  path: string;
  reason: 'no-face' | 'unreadable';
  detail?: string;
}

export interface AlignReport {
  detector: string;
  total: number;
  aligned: number;
  /** outputs already present from an earlier run */
  kept: number;
  /** faces found only after padding */
  padded: number;
  /** photos where several faces were found and `pick` chose one */
  multiFace: number;
  noFace: number;
  unreadable: number;
  /** (aligned + kept) / total */
  detectionRate: number;
  seconds: number;
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff']);

/** Relative paths of the image files under `root`, sorted. */
export function listPhotos(root: string): string[] {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new FaceMaeError(`data ${root} is not a folder: point it at a folder of photos`, 'E_NOT_FOUND', {
      key: 'data',
    });
  }
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, e.name) : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile() && IMAGE_EXT.has(path.extname(e.name).toLowerCase())) out.push(r);
    }
  };
  walk('');
  out.sort();
  if (out.length === 0) {
    throw new FaceMaeError(`no images (.jpg, .png, …) found under ${root}`, 'E_EMPTY');
  }
  return out;
}

/** Output path for a photo: same relative path; JPEG and PNG keep their extension, others become .png. */
export function outputPathFor(outDir: string, rel: string): string {
  const ext = path.extname(rel).toLowerCase();
  const keep = ext === '.jpg' || ext === '.jpeg' || ext === '.png';
  return path.join(outDir, keep ? rel : rel.slice(0, rel.length - ext.length) + '.png');
}

async function isCompleteOutput(file: string): Promise<boolean> {
  if (!fs.existsSync(file)) return false;
  try {
    const m = await sharp(file).metadata();
    return m.width === ALIGNED_SIZE && m.height === ALIGNED_SIZE;
  } catch {
    return false;
  }
}

/**
 * Aligns a folder with an already-created detector (the caller owns and disposes it).
 * Existing complete outputs are kept unless `keepExisting` is false.
 */
export async function alignFolderWith(
  detector: FaceDetector,
  cfg: AlignConfig,
  opts: { keepExisting?: boolean; onProgress?: OnProgress } = {},
): Promise<{ report: AlignReport; noFace: NoFaceEntry[] }> {
  const { keepExisting = true, onProgress } = opts;
  const t0 = performance.now();
  const photos = listPhotos(cfg.data);
  const noFace: NoFaceEntry[] = [];
  let aligned = 0;
  let kept = 0;
  let padded = 0;
  let multiFace = 0;
  for (let i = 0; i < photos.length; i++) {
    const rel = photos[i] as string;
    const dst = outputPathFor(cfg.out, rel);
    if (keepExisting && (await isCompleteOutput(dst))) {
      kept++;
    } else {
      let img;
      try {
        img = await decodePhoto(path.join(cfg.data, rel));
      } catch (e) {
        noFace.push({ path: rel, reason: 'unreadable', detail: (e as Error).message });
      }
      if (img) {
        const r = await alignPhoto(detector, img, {
          pick: cfg.pick,
          padRetry: cfg.padRetry,
          tightFraction: cfg.tightFraction,
        });
        if (r) {
          await encodePhoto(dst, r.image);
          aligned++;
          if (r.padded) padded++;
          if (r.faces > 1) multiFace++;
        } else {
          noFace.push({ path: rel, reason: 'no-face' });
        }
      }
    }
    onProgress?.(i + 1, photos.length, `${noFace.length} without face`);
  }
  const report: AlignReport = {
    detector: detector.name,
    total: photos.length,
    aligned,
    kept,
    padded,
    multiFace,
    noFace: noFace.filter((e) => e.reason === 'no-face').length,
    unreadable: noFace.filter((e) => e.reason === 'unreadable').length,
    detectionRate: (aligned + kept) / photos.length,
    seconds: (performance.now() - t0) / 1000,
  };
  await atomicWriteFile(
    path.join(cfg.out, 'no-face.jsonl'),
    noFace.map((e) => JSON.stringify(e) + '\n').join(''),
  );
  writeJsonAtomic(path.join(cfg.out, 'align-report.json'), { ...report, noFaceList: noFace });
  return { report, noFace };
}

export interface AlignFolderOptions {
  /** Continue a non-empty output, keeping complete outputs. */
  resume?: boolean;
  /** Write into a non-empty output, replacing existing crops. */
  overwrite?: boolean;
  onProgress?: OnProgress;
}

/** Checks a resolved config; errors quote the bad value. */
export function validateAlignConfig(cfg: AlignConfig): void {
  if (!cfg.data) throw new FaceMaeError('align needs data (a folder of photos)', 'E_CONFIG', { key: 'data' });
  if (!cfg.out)
    throw new FaceMaeError('align needs out (where the aligned faces go)', 'E_CONFIG', { key: 'out' });
  if (cfg.pick !== 'largest' && cfg.pick !== 'central') {
    throw new FaceMaeError(`pick must be largest or central, got "${String(cfg.pick)}"`, 'E_CONFIG', {
      key: 'pick',
    });
  }
  if (!(cfg.padRetry >= 0 && cfg.padRetry <= 2)) {
    throw new FaceMaeError(`padRetry must be in [0, 2], got ${cfg.padRetry}`, 'E_CONFIG');
  }
  if (!(cfg.tightFraction > 0)) {
    throw new FaceMaeError(
      `tightFraction must be > 0 (1 or more disables it), got ${cfg.tightFraction}`,
      'E_CONFIG',
    );
  }
  if (!(Number.isInteger(cfg.threads) && cfg.threads >= 1)) {
    throw new FaceMaeError(`threads must be an integer ≥ 1, got ${cfg.threads}`, 'E_CONFIG', {
      key: 'threads',
    });
  }
  if (cfg.threshold !== null && !(cfg.threshold > 0 && cfg.threshold < 1)) {
    throw new FaceMaeError(`threshold must be in (0, 1), got ${cfg.threshold}`, 'E_CONFIG', {
      key: 'threshold',
    });
  }
  checkOutSeparate(cfg.out, [{ key: 'data', path: cfg.data }]);
}

/**
 * The `align` job: validates, prepares `out` (refusing a non-empty one without resume/overwrite),
 * saves the resolved config, creates the detector from `cfg.detector`, aligns, disposes.
 */
export async function alignFolder(
  cfg: AlignConfig,
  opts: AlignFolderOptions = {},
): Promise<{ report: AlignReport; noFace: NoFaceEntry[] }> {
  validateAlignConfig(cfg);
  listPhotos(cfg.data); // fail on a bad --data before touching --out
  const lock = guardOutDir(cfg.out, {
    inputs: [{ key: 'data', path: cfg.data }],
    command: 'align',
    resume: opts.resume,
    overwrite: opts.overwrite,
  });
  return withOutLock(lock, async () => {
    saveResolvedConfig(cfg.out, 'align', cfg);
    const detector = await createFaceDetector(
      cfg.detector,
      cfg.threshold === null ? {} : { threshold: cfg.threshold },
    );
    try {
      return await alignFolderWith(detector, cfg, {
        keepExisting: !opts.overwrite,
        onProgress: opts.onProgress,
      });
    } finally {
      await detector.dispose();
    }
  });
}
