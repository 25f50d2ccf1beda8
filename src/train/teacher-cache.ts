/**
 * The frozen IRM teacher's embeddings of the real training images, kept across steps and epochs.
 * The teacher never changes during a run and an image is loaded the same way every epoch, so the
 * embedding of (image, mirrored or not) is a constant: computing it again each epoch was half of
 * the teacher's forward work in an IRM step. Bounded (least recently used entries go first) and
 * in memory only: a resumed run starts empty and recomputes on a miss, so the loss is the same.
 */
import { LRUCache } from 'lru-cache';
import { tf } from '../engine/backend.js';
import { FaceMaeError } from '../core/errors.js';
import { teacherEmbeddings } from '../losses/irm.js';
import type { FaceNet } from '../types.js';

/** Default bound: 128 MiB of embeddings (65,536 entries of 512 floats: 32,768 images, both flips). */
export const DEFAULT_TEACHER_CACHE_BYTES = 128 * 2 ** 20;

export interface TeacherCacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
}

export interface TeacherCache {
  /**
   * x [N,S,S,3] (the real batch as trained) and keys[i] naming image i as loaded (e.g. its path
   * and whether it was mirrored) -> [N,D] teacher embeddings; only the misses run the teacher.
   * Call it outside the gradient tape: the result is a constant target.
   */
  embed(x: tf.Tensor4D, keys: readonly string[]): tf.Tensor2D;
  stats(): TeacherCacheStats;
  /** Drops the cached embeddings (plain arrays: the cache holds no tensors). */
  dispose(): void;
}

/**
 * A cache of `teacher`'s embeddings (of images downsampled by `lowPass`, as IRM sees them) of at
 * most `maxBytes` (0: none, every call runs the teacher).
 */
export function createTeacherCache(
  teacher: FaceNet,
  maxBytes = DEFAULT_TEACHER_CACHE_BYTES,
  lowPass = 1,
): TeacherCache {
  if (!(maxBytes >= 0))
    throw new FaceMaeError(`teacher cache size must be >= 0 bytes, got ${maxBytes}`, 'E_CONFIG');
  const cache =
    maxBytes > 0
      ? new LRUCache<string, Float32Array>({ maxSize: maxBytes, sizeCalculation: (v) => v.byteLength })
      : null;
  let hits = 0;
  let misses = 0;
  return {
    embed(x, keys) {
      const n = x.shape[0];
      if (keys.length !== n)
        throw new FaceMaeError(`teacher cache: ${keys.length} keys for a batch of ${n} images`);
      const rows = keys.map((k) => cache?.get(k));
      const miss: number[] = [];
      rows.forEach((r, i) => {
        if (!r) miss.push(i);
      });
      hits += n - miss.length;
      misses += miss.length;
      if (miss.length === 0 && n > 0) {
        const d = (rows[0] as Float32Array).length;
        const out = new Float32Array(n * d);
        rows.forEach((r, i) => out.set(r as Float32Array, i * d));
        return tf.tensor2d(out, [n, d]);
      }
      if (miss.length === n) {
        const e = teacherEmbeddings(teacher, x, lowPass);
        if (cache) {
          const d = e.shape[1];
          const data = e.dataSync() as Float32Array;
          keys.forEach((k, i) => cache.set(k, data.slice(i * d, (i + 1) * d)));
        }
        return e;
      }
      const data = tf.tidy(() => {
        const xm = tf.gather(x, tf.tensor1d(miss, 'int32')) as tf.Tensor4D;
        return teacherEmbeddings(teacher, xm, lowPass).dataSync() as Float32Array;
      });
      const d = data.length / miss.length;
      miss.forEach((i, j) => {
        const v = data.slice(j * d, (j + 1) * d);
        rows[i] = v;
        cache?.set(keys[i] as string, v);
      });
      const out = new Float32Array(n * d);
      rows.forEach((r, i) => out.set(r as Float32Array, i * d));
      return tf.tensor2d(out, [n, d]);
    },
    stats: () => ({ hits, misses, entries: cache?.size ?? 0, bytes: cache?.calculatedSize ?? 0 }),
    dispose() {
      cache?.clear();
    },
  };
}
