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

/** Imports a module relative to src/ (`eval/embedders.js`); undefined when that file does not exist. */
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
  const create = await need<(spec: string) => Promise<Embedder>>('eval/embedders.js', 'createEmbedder');
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

/** The real implementations of the sweep's dependencies, from the other areas of the library. */
export function defaultSweepDeps(opts: { onWarning?: (m: string) => void } = {}): SweepDeps {
  const sets = new Map<string, Promise<unknown>>();
  return {
    async trainMae({ data, out, teacher, config, seed, size, onProgress }) {
      const train = await need<(c: unknown, h: unknown) => Promise<{ out: string }>>(
        'train/pretrain-mae.js',
        'trainMae',
      );
      const mod = await optionalImport<{ DEFAULT_TRAIN_MAE?: Record<string, unknown> }>(
        'train/pretrain-mae.js',
      );
      const base = mod?.DEFAULT_TRAIN_MAE ?? {};
      const cfg = merge(merge(base, config), {
        data,
        out,
        seed,
        irm: { teacher },
        model: { imageSize: size },
      }) as Record<string, unknown>;
      const resume = fs.existsSync(path.join(out, 'checkpoint.json'));
      const r = await train(cfg, { onProgress, onWarning: opts.onWarning, resume, overwrite: !resume });
      return { run: r.out ?? out };
    },
    async reconstruct({ run, data, out, maskRatio, seed, size, onProgress }) {
      const rec = await need<(c: unknown, h: unknown) => Promise<unknown>>(
        'deploy/reconstruct.js',
        'reconstructDataset',
      );
      await rec(
        { run, checkpoint: run, data, out, maskRatio, seed, size },
        { onProgress, onWarning: opts.onWarning, overwrite: true },
      );
    },
    async trainRecognizer({ data, out, config, seed, size, onProgress }) {
      const train = await need<(c: unknown, h: unknown) => Promise<{ out?: string }>>(
        'train/train-face.js',
        'trainFaceRecognizer',
      );
      const mod = await optionalImport<Record<string, unknown>>('train/train-face.js');
      const base = (Object.entries(mod ?? {}).find(
        ([k, v]) => /^DEFAULT_/.test(k) && typeof v === 'object',
      )?.[1] ?? {}) as Record<string, unknown>;
      const cfg = merge(merge(base, config), { data, out, seed }) as Record<string, unknown>;
      void size;
      const r = await train(cfg, { onProgress, onWarning: opts.onWarning, overwrite: true });
      return { run: r?.out ?? out };
    },
    createEmbedder: loadEmbedder,
    async verify({ model, set, size, batchSize, onProgress }) {
      const read = await need<(spec: string, o: unknown) => Promise<unknown>>(
        'data/verification-set.js',
        'readVerificationSet',
      );
      const evaluate = await need<
        (
          e: Embedder,
          s: unknown,
          o: unknown,
        ) => Promise<{ accuracy: number; std: number; tarAtFar?: { tar?: number } | number }>
      >('eval/verification.js', 'evaluateVerification');
      const key = `${set}@${size}`;
      if (!sets.has(key)) sets.set(key, read(set, { size, onWarning: opts.onWarning }));
      const vs = await sets.get(key)!;
      const emb = await loadEmbedder(model);
      try {
        const r = await evaluate(emb, vs, { batchSize, onProgress });
        const tar = typeof r.tarAtFar === 'number' ? r.tarAtFar : r.tarAtFar?.tar;
        return { accuracy: r.accuracy, std: r.std, ...(tar !== undefined ? { tarAtFar: tar } : {}) };
      } finally {
        await emb.dispose();
      }
    },
  };
}
