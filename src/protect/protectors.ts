/**
 * What protectDataset applies to a batch of images. FaceMAE: masks drawn from (seed, image key)
 * only (deploy/masks.ts, shared with the browser app) and reconstructed by a trained MAE, the
 * visible patches pasted back or blended (`pasteBack`). A baseline (distortions.ts): each image
 * draws from `rng.fork(<identity>/<file>)`. Either way an image's output depends only on the seed
 * and its key, whatever the order, batches, resumes or shards. The pipeline reads, writes, keeps
 * the manifest and resumes; a protector only turns images into protected images and their lines.
 */
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { onceWarning, type OnWarning, type ReadImageOptions } from '../data/image-folder.js';
import { imagesToTensor, tensorToImages } from '../data/loader.js';
import { recordFileName, type FaceSource } from '../data/source.js';
import { loadMaeRun, type LoadedMae } from '../deploy/load-mae.js';
import { batchMaskNoise, manifestLine } from '../deploy/masks.js';
import { checkPasteBack } from '../models/mae/mae.js';
import { lenKeepFor, maskingFromNoise } from '../models/mae/masking.js';
import type { FaceRecord, RgbImage } from '../types.js';
import { applyDistortion, checkDistortionSpec, checkProtects, type DistortionMethod } from './distortions.js';
import type { ReleaseLine } from './manifest.js';
import type { Protection } from './protection.js';

/**
 * The protection to apply: a Protection (what the attacker knows), where FaceMAE's mask ratio may
 * be left to the model (`strength` undefined: the ratio it was trained with) and its model may be
 * given loaded (a queue worker's; not disposed here).
 */
export type ProtectionInput = Omit<Protection, 'strength' | 'model'> & {
  strength?: number;
  model?: string | LoadedMae;
};

export type ReleaseFormat = 'folder' | 'rec';

/** One image of a batch: its record, pixels and output path (relative to the run folder). */
export interface ProtectItem {
  record: FaceRecord;
  image: RgbImage;
  output: string;
}

export interface Protector {
  /** The verb whose config.json the run writes (readProtection reads the protection from it). */
  command: 'reconstruct' | 'distort';
  /** The run's resolved config, saved as config.json. */
  config: Record<string, unknown>;
  /** Progress label. */
  label: string;
  /** Images per apply(). */
  batchSize: number;
  /** How the pipeline reads the images for it. */
  read: ReadImageOptions;
  /** A line as this run writes them (source, output, identity empty): what a resume must match. */
  template: ReleaseLine;
  /** The protected images and their manifest lines, in the order of `items`. */
  apply(items: ProtectItem[]): Promise<Array<{ image: RgbImage; line: ReleaseLine }>>;
  dispose(): void;
}

/** What a protector is made from besides the protection: the run's settings and its input. */
export interface ProtectorContext {
  /** The input as given (recorded in config.json). */
  source: string;
  /** Its identity-folder root or .rec (image keys are relative to it). */
  data: string;
  out: string;
  seed: number;
  batchSize?: number;
  /** Baselines: resize inputs to size×size first. */
  size?: number;
  format: ReleaseFormat;
  allowNoProtection?: boolean;
  onWarning?: OnWarning;
  images: FaceSource;
}

function noPatchRemoved(maskRatio: number, numPatches?: number): FaceMaeError {
  return new FaceMaeError(
    `mask ratio ${maskRatio} removes none of the ${numPatches ?? ''}${numPatches ? ' ' : ''}patches, so every "reconstruction" would be the original image; use a ratio such as 0.75, or pass --allow-no-protection (allowNoProtection) to write it anyway`,
    'E_NO_PROTECTION',
    { key: 'maskRatio' },
  );
}

/**
 * Checks a protection before anything is read or written: a baseline's range (and that it
 * protects something), FaceMAE's model and paste-back, and a ratio of 0 (known without the model).
 */
export function checkProtectionInput(p: ProtectionInput, allowNoProtection?: boolean): void {
  if (p.method === 'original')
    throw new FaceMaeError(
      'protection "original" leaves the images as they are: there is nothing to write',
      'E_CONFIG',
      { key: 'method' },
    );
  if (p.method === 'facemae') {
    if (!p.model)
      throw new FaceMaeError("FaceMAE needs its reconstructor: give the train-mae run's folder", 'E_CONFIG', {
        key: 'model',
      });
    if (p.pasteBack !== undefined) checkPasteBack(p.pasteBack);
    if (p.strength === 0 && !allowNoProtection) throw noPatchRemoved(0);
    return;
  }
  const spec = { ...p, method: p.method, strength: p.strength as number };
  checkDistortionSpec(spec);
  checkProtects(spec, allowNoProtection);
}

/** The key an image's FaceMAE mask is drawn from: its path relative to the data root (or its record key). */
function maskKey(data: string, source: string): string {
  if (source.includes('.rec#')) return source.slice(source.lastIndexOf('#') + 1);
  return path.relative(data, source).split(path.sep).join('/');
}

/** FaceMAE's protector; loads the model when given as a folder (disposed by dispose()). */
async function faceMaeProtector(p: ProtectionInput, ctx: ProtectorContext): Promise<Protector> {
  const loaded = typeof p.model === 'string' ? await loadMaeRun(p.model) : (p.model as LoadedMae);
  const { mae, config } = loaded;
  const dispose = () => {
    if (typeof p.model === 'string') mae.dispose();
  };
  const maskRatio = p.strength ?? loaded.maskRatio;
  const pasteBack = p.pasteBack ?? 1;
  const batchSize = ctx.batchSize ?? 32;
  const L = mae.numPatches;
  try {
    // validates the ratio; a ratio that removes no patch gives back the originals
    if (lenKeepFor(L, maskRatio) >= L && !ctx.allowNoProtection) throw noPatchRemoved(maskRatio, L);
  } catch (e) {
    dispose();
    throw e;
  }
  const stamp = { seed: ctx.seed, maskRatio, pasteBack };
  return {
    command: 'reconstruct',
    config: {
      model: typeof p.model === 'string' ? p.model : '(in memory)',
      data: ctx.source,
      maskRatio,
      pasteBack,
      seed: ctx.seed,
      format: ctx.format,
      batchSize,
      modelConfig: config,
      modelStep: loaded.step,
      // model and IRM-teacher content hashes: `facemae privacy` reads them from the run folder
      provenance: loaded.provenance,
    },
    label: 'reconstructing',
    batchSize,
    read: { size: config.imageSize, onWrongSize: 'resize', onWarning: onceWarning(ctx.onWarning) },
    template: { source: '', output: '', identity: '', ...stamp, keep: [] },
    async apply(items) {
      const n = items.length;
      const keys = items.map((it) => maskKey(ctx.data, it.record.path));
      const m = maskingFromNoise(batchMaskNoise(ctx.seed, keys, L), n, L, maskRatio);
      const x = imagesToTensor(items.map((it) => it.image));
      const rec = mae.reconstruct(x, m, pasteBack);
      x.dispose();
      const images = await tensorToImages(rec);
      rec.dispose();
      return items.map((it, j) => ({
        image: images[j]!,
        line: manifestLine(m, j, {
          source: it.record.path,
          output: it.output,
          identity: it.record.identity,
          ...stamp,
        }),
      }));
    },
    dispose,
  };
}

/** A baseline's protector; without `size`, inputs keep the first image's size when it is square. */
async function baselineProtector(
  p: ProtectionInput & { method: DistortionMethod },
  ctx: ProtectorContext,
): Promise<Protector> {
  const spec = {
    method: p.method,
    strength: p.strength as number,
    ...(p.patchSize !== undefined ? { patchSize: p.patchSize } : {}),
    ...(p.fill !== undefined ? { fill: p.fill } : {}),
  };
  let size = ctx.size;
  if (size === undefined && ctx.images.length > 0) {
    // an unreadable first image is reported by the pipeline, not here
    const first = await ctx.images.read(0).catch(() => undefined);
    if (first && first.width === first.height) size = first.width;
  }
  const root = createRng(ctx.seed);
  const stamp = { seed: ctx.seed, ...spec, ...(ctx.size !== undefined ? { size: ctx.size } : {}) };
  return {
    command: 'distort',
    config: {
      ...spec,
      data: ctx.source,
      out: ctx.out,
      seed: ctx.seed,
      ...(ctx.size !== undefined ? { size: ctx.size } : {}),
      ...(ctx.allowNoProtection ? { allowNoProtection: true } : {}),
    },
    label: p.method,
    batchSize: ctx.batchSize ?? 16,
    read: size ? { size, onWarning: onceWarning(ctx.onWarning) } : {},
    template: { source: '', output: '', identity: '', ...stamp },
    async apply(items) {
      return items.map((it) => {
        const r = it.record;
        let image: RgbImage;
        try {
          image = applyDistortion(it.image, spec, root.fork(`${r.identity}/${recordFileName(r)}`));
        } catch (e) {
          if (!(e instanceof FaceMaeError)) throw e;
          throw new FaceMaeError(`${r.path}: ${e.message}`, e.code, { cause: e });
        }
        return {
          image,
          line: { source: r.path, output: it.output, identity: r.identity, ...stamp },
        };
      });
    },
    dispose() {},
  };
}

/** The protector of `p` (checked by checkProtectionInput). */
export function createProtector(p: ProtectionInput, ctx: ProtectorContext): Promise<Protector> {
  switch (p.method) {
    case 'facemae':
      return faceMaeProtector(p, ctx);
    case 'original':
      throw new FaceMaeError('protection "original" writes nothing', 'E_CONFIG');
    default:
      return baselineProtector({ ...p, method: p.method }, ctx);
  }
}
