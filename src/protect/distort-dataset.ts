/**
 * The `distort` verb's config (a baseline protection: mask, blur, pixelate, noise, pixnoise) and
 * its checks, over the one protection pipeline (protect-dataset.ts): the same release layout,
 * manifest and resume as FaceMAE's. Each image draws from `rng.fork(<identity>/<file>)`, so the
 * output is the same whatever the order or the number of resumes.
 */
import { FaceMaeError } from '../core/errors.js';
import { MAX_IMAGE_SIDE } from '../data/image-folder.js';
import {
  checkDistortionSpec,
  checkProtects,
  DISTORTION_METHODS,
  type DistortionSpec,
} from './distortions.js';
import { checkInt, protectDataset, type ProtectOptions, type ProtectResult } from './protect-dataset.js';

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

/** distort's options: the pipeline's, with seed, size and allowNoProtection in the config. */
export type DistortDatasetOptions = Omit<ProtectOptions, 'seed' | 'size' | 'allowNoProtection'>;

export type DistortDatasetResult = ProtectResult;

/** Applies a baseline to a dataset (config checked by validateDistortConfig) through protectDataset. */
export async function distortDataset(
  cfg: DistortDatasetConfig,
  opts: DistortDatasetOptions = {},
): Promise<DistortDatasetResult> {
  validateDistortConfig(cfg);
  const { method, strength, patchSize, fill } = cfg;
  return protectDataset(
    cfg.data,
    {
      method,
      strength,
      ...(patchSize !== undefined ? { patchSize } : {}),
      ...(fill !== undefined ? { fill } : {}),
    },
    cfg.out,
    {
      ...opts,
      seed: cfg.seed,
      ...(cfg.size !== undefined ? { size: cfg.size } : {}),
      ...(cfg.allowNoProtection !== undefined ? { allowNoProtection: cfg.allowNoProtection } : {}),
    },
  );
}
