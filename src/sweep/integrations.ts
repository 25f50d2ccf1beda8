/**
 * The sweep's view of the other areas' entry points (data, MAE training/reconstruction, face
 * recognition). They are loaded lazily so that a missing or broken area turns its sweep steps
 * into "not available" rows instead of breaking the whole command at import time.
 */
import { FaceMaeError } from '../core/errors.js';
import type { Embedder } from '../types.js';

/** Imports a module relative to src/ (`eval/embedders.js`); undefined when that file does not exist. */
export async function optionalImport<T>(rel: string): Promise<T | undefined> {
  const url = new URL(`../${rel}`, import.meta.url).href;
  try {
    return (await import(url)) as T;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { url?: string };
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(rel.replace(/\.js$/, ''))) return undefined;
    throw e;
  }
}

/** Gets a named function from an optional module, or throws a FaceMaeError saying it is not available. */
export async function need<F>(rel: string, name: string): Promise<F> {
  const mod = await optionalImport<Record<string, unknown>>(rel);
  const fn = mod?.[name];
  if (typeof fn !== 'function') {
    throw new FaceMaeError(`not available: ${name} (src/${rel.replace(/\.js$/, '.ts')}) is not in this build`, 'E_NOT_AVAILABLE');
  }
  return fn as F;
}

/** An attacker/evaluation embedder from a spec ('faceplugin' | FILE.onnx | RUN_DIR), via src/eval/embedders.ts. */
export async function loadEmbedder(spec: string): Promise<Embedder> {
  const create = await need<(spec: string) => Promise<Embedder>>('eval/embedders.js', 'createEmbedder');
  return create(spec);
}
