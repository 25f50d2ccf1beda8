/**
 * "Verify a model on these sets" (insightface CallBackVerification, as one function): a model,
 * given as a spec or an Embedder, scored on verification sets given as specs (read here, at the
 * model's input size) or already in memory. Used by `facemae verify`, the sweep's utility steps
 * and the recognizer trainer's periodic verification.
 */
import type { Embedder } from '../types.js';
import { readVerificationSet } from '../data/verification-set.js';
import {
  evaluateVerification,
  type VerificationResult,
  type VerificationSetLike,
} from '../eval/verification.js';
import { createEmbedder, type EmbedderOptions } from './embedders.js';

export interface VerifyModelOptions {
  /** Flip test-time augmentation (default true: the insightface protocol). */
  flip?: boolean;
  /** Images per forward pass (default 32). */
  batchSize?: number;
  /** How a model spec is opened (input convention, threads). */
  embedder?: Omit<EmbedderOptions, 'batchSize'>;
  /** Keep this many evenly spaced pairs of each set (0 or undefined: all). */
  pairs?: number;
  onWarning?: (message: string) => void;
  /** Reading (`read`) and embedding (`embed`) progress of the set named `set`. */
  onProgress?: (phase: 'read' | 'embed', set: string, done: number, total: number) => void;
  /** Each set's result as soon as it is scored. */
  onResult?: (r: VerificationResult) => void;
}

/** Keeps `limit` evenly spaced pairs (with their fold ids); 0 keeps all. */
export function subsamplePairs<T extends VerificationSetLike>(set: T, limit: number): VerificationSetLike {
  const p = set.issame.length;
  if (!limit || limit >= p) return set;
  const keep = Array.from({ length: limit }, (_, i) => Math.floor((i * p) / limit));
  return {
    name: set.name,
    images: keep.flatMap((k) => [set.images[2 * k], set.images[2 * k + 1]]).filter((x) => x !== undefined),
    issame: keep.map((k) => set.issame[k] as boolean),
    folds: set.folds ? keep.map((k) => set.folds?.[k] as number) : undefined,
  };
}

/**
 * Scores `model` on each set, in order. A model given as a spec is opened and disposed here; an
 * Embedder stays the caller's.
 */
export async function verifyModel(
  model: string | Embedder,
  sets: ReadonlyArray<string | VerificationSetLike>,
  opts: VerifyModelOptions = {},
): Promise<VerificationResult[]> {
  const batchSize = opts.batchSize ?? 32;
  const embedder =
    typeof model === 'string' ? await createEmbedder(model, { ...opts.embedder, batchSize }) : model;
  const results: VerificationResult[] = [];
  try {
    for (const s of sets) {
      const set =
        typeof s === 'string'
          ? await readVerificationSet(s, {
              size: embedder.inputSize,
              onWarning: opts.onWarning,
              onProgress: (d, t) => opts.onProgress?.('read', s, d, t),
            })
          : s;
      const r = await evaluateVerification(embedder, subsamplePairs(set, opts.pairs ?? 0), {
        flip: opts.flip ?? true,
        batchSize,
        onProgress: (d, t) => opts.onProgress?.('embed', set.name, d, t),
      });
      opts.onResult?.(r);
      results.push(r);
    }
  } finally {
    if (typeof model === 'string') await embedder.dispose();
  }
  return results;
}
