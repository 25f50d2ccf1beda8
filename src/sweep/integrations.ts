/**
 * The sweep's view of the other areas' entry points (data, MAE training/reconstruction, face
 * recognition). They are loaded lazily so that a missing or broken area turns its sweep steps
 * into "not available" rows instead of breaking the whole command at import time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import type { Embedder } from '../types.js';
import type { SweepDeps } from './sweep.js';

/** Imports a module relative to src/ (`loaders/embedders.js`); undefined when that file does not exist. */
export async function optionalImport<T>(rel: string): Promise<T | undefined> {
  const url = new URL(`../${rel}`, import.meta.url).href;
  try {
    return (await import(url)) as T;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { url?: string };
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(rel.replace(/\.js$/, '')))
      return undefined;
    throw e;
  }
}

/** Gets a named function from an optional module, or throws a FaceMaeError saying it is not available. */
export async function need<F>(rel: string, name: string): Promise<F> {
  const mod = await optionalImport<Record<string, unknown>>(rel);
  const fn = mod?.[name];
  if (typeof fn !== 'function') {
    throw new FaceMaeError(
      `not available: ${name} (src/${rel.replace(/\.js$/, '.ts')}) is not in this build`,
      'E_NOT_AVAILABLE',
    );
  }
  return fn as F;
}

/** An attacker/evaluation embedder from a spec ('faceplugin' | FILE.onnx | RUN_DIR), via src/eval/embedders.ts. */
export async function loadEmbedder(spec: string): Promise<Embedder> {
  const create = await need<(spec: string) => Promise<Embedder>>('loaders/embedders.js', 'createEmbedder');
  return create(spec);
}

/** Deep-merges plain objects (b wins); arrays and scalars replace. */
function merge(a: unknown, b: unknown): unknown {
  const obj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!obj(a) || !obj(b)) return b === undefined ? a : b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

type PretrainMae = typeof import('../train/pretrain-mae.js');
type TrainFace = typeof import('../train/train-face.js');
type Reconstruct = typeof import('../deploy/reconstruct.js');
type VerificationSetModule = typeof import('../data/verification-set.js');
type Verification = typeof import('../eval/verification.js');

/** A training step resumes from its checkpoint when an interrupted run left one. */
const hasCheckpoint = (out: string) => fs.existsSync(path.join(out, 'checkpoint.json'));

/** The real implementations of the sweep's dependencies, from the other areas of the library. */
export function defaultSweepDeps(opts: { onWarning?: (m: string) => void } = {}): SweepDeps {
  const sets = new Map<string, Promise<unknown>>();
  return {
    async trainMae({ data, out, teacher, config, seed, size, onProgress }) {
      const train = await need<PretrainMae['trainMae']>('train/pretrain-mae.js', 'trainMae');
      const mod = await optionalImport<PretrainMae>('train/pretrain-mae.js');
      const cfg = merge(merge(mod?.DEFAULT_TRAIN_MAE ?? {}, config), {
        data,
        out,
        seed,
        irm: { teacher },
        model: { imageSize: size },
      }) as Parameters<PretrainMae['trainMae']>[0];
      const resume = hasCheckpoint(out);
      const r = await train(cfg, { onProgress, onWarning: opts.onWarning, resume, overwrite: !resume });
      return { run: r.out };
    },
    async reconstruct({ run, data, out, maskRatio, seed, onProgress }) {
      const rec = await need<Reconstruct['reconstructDataset']>(
        'deploy/reconstruct.js',
        'reconstructDataset',
      );
      // Writes out/images/<identity>/<file> and out/manifest.jsonl (the kept patches of each image).
      await rec({
        model: run,
        data,
        out,
        maskRatio,
        seed,
        resume: true,
        onProgress,
        onWarning: opts.onWarning,
      });
    },
    async trainRecognizer({ data, out, config, seed, size, onProgress }) {
      const train = await need<TrainFace['trainFaceRecognizer']>(
        'train/train-face.js',
        'trainFaceRecognizer',
      );
      const mod = await optionalImport<TrainFace>('train/train-face.js');
      const cfg = merge(merge(mod?.DEFAULT_TRAIN_FR ?? {}, config), {
        data,
        out,
        seed,
        inputSize: size,
      }) as Parameters<TrainFace['trainFaceRecognizer']>[0];
      const resume = hasCheckpoint(out);
      const r = await train(cfg, { onProgress, onWarning: opts.onWarning, resume, overwrite: !resume });
      return { run: r.out };
    },
    createEmbedder: loadEmbedder,
    async verify({ model, set, size, batchSize, onProgress }) {
      const read = await need<VerificationSetModule['readVerificationSet']>(
        'data/verification-set.js',
        'readVerificationSet',
      );
      const evaluate = await need<Verification['evaluateVerification']>(
        'eval/verification.js',
        'evaluateVerification',
      );
      const key = `${set}@${size}`;
      if (!sets.has(key)) {
        const p = read(set, { size, onWarning: opts.onWarning });
        // A failed read is not cached: the next step tries again (e.g. after the file was fixed).
        p.catch(() => sets.delete(key));
        sets.set(key, p);
      }
      const vs = (await sets.get(key)) as Awaited<ReturnType<VerificationSetModule['readVerificationSet']>>;
      const emb = await loadEmbedder(model);
      try {
        const r = await evaluate(emb, vs, { batchSize, onProgress });
        return {
          accuracy: r.accuracy,
          std: r.std,
          tarAtFar: r.tarAtFar.tar,
          pairCorrect: Array.from(r.pairCorrect).join(''),
        };
      } finally {
        await emb.dispose();
      }
    },
  };
}
