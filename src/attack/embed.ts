/**
 * Embedding for the attack, with a cache keyed by (attacker fingerprint, preprocessing, image
 * content): a sweep embeds each original once per attacker, and a re-run of an audit embeds
 * nothing it has seen. The cache lives in memory and, given a folder, in one append-only file per
 * attacker (fixed-size records: 20-byte key, then the embedding; a torn last record from a kill
 * is ignored).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import type { FaceSource } from '../data/face-source.js';
import type { OnWarning } from '../data/image-folder.js';
import type { Embedder, OnProgress, RgbImage } from '../types.js';
import type { Inpainter } from './inpaint.js';
import { applyReversal, reversalName, type Reversal } from './reversal.js';

const KEY_BYTES = 20;

export interface EmbeddingCache {
  /** Embeddings of `keys` (hex) for attacker `fp`, or undefined for a miss. */
  get(fp: string, dim: number, key: string): Float32Array | undefined;
  set(fp: string, dim: number, key: string, emb: Float32Array): void;
  /** Writes what was added since the last flush (no-op in memory). */
  flush(): void;
  /** Hits and misses so far (for the cost line of a report). */
  readonly stats: { hits: number; misses: number };
}

/** A cache in memory, persisted under `dir` when given. */
export function createEmbeddingCache(dir?: string): EmbeddingCache {
  const tables = new Map<string, Map<string, Float32Array>>();
  const pending = new Map<string, { dim: number; rows: [string, Float32Array][] }>();
  const stats = { hits: 0, misses: 0 };
  const fileOf = (fp: string, dim: number) =>
    path.join(
      dir as string,
      `${crypto.createHash('sha256').update(fp).digest('hex').slice(0, 24)}-${dim}.bin`,
    );
  const table = (fp: string, dim: number): Map<string, Float32Array> => {
    const id = `${fp}\0${dim}`;
    let t = tables.get(id);
    if (t) return t;
    t = new Map();
    tables.set(id, t);
    if (dir && fs.existsSync(fileOf(fp, dim))) {
      const buf = fs.readFileSync(fileOf(fp, dim));
      const rec = KEY_BYTES + dim * 4;
      for (let o = 0; o + rec <= buf.length; o += rec) {
        const key = buf.subarray(o, o + KEY_BYTES).toString('hex');
        const emb = new Float32Array(dim);
        Buffer.from(emb.buffer).set(buf.subarray(o + KEY_BYTES, o + rec));
        t.set(key, emb);
      }
    }
    return t;
  };
  return {
    stats,
    get(fp, dim, key) {
      const e = table(fp, dim).get(key);
      if (e) stats.hits++;
      else stats.misses++;
      return e;
    },
    set(fp, dim, key, emb) {
      table(fp, dim).set(key, emb);
      if (!dir) return;
      const id = `${fp}\0${dim}`;
      let p = pending.get(id);
      if (!p) pending.set(id, (p = { dim, rows: [] }));
      p.rows.push([key, emb]);
    },
    flush() {
      if (!dir) return;
      fs.mkdirSync(dir, { recursive: true });
      for (const [id, p] of pending) {
        const fp = id.slice(0, id.lastIndexOf('\0'));
        const rec = KEY_BYTES + p.dim * 4;
        const buf = Buffer.alloc(rec * p.rows.length);
        p.rows.forEach(([key, emb], i) => {
          Buffer.from(key, 'hex').copy(buf, i * rec);
          Buffer.from(emb.buffer, emb.byteOffset, emb.byteLength).copy(buf, i * rec + KEY_BYTES);
        });
        // one write of whole records: a kill leaves at most a torn tail, skipped on read
        fs.appendFileSync(fileOf(fp, p.dim), buf);
      }
      pending.clear();
    },
  };
}

/** The cache key of an image under a preprocessing: SHA-1 of the preprocessing (and its model) and the pixels. */
function contentKey(img: RgbImage, r: Reversal, inpainter?: Inpainter): string {
  const pre = r.kind === 'inpaint' ? `${reversalName(r)}:${inpainter?.id ?? ''}` : reversalName(r);
  return crypto
    .createHash('sha1')
    .update(`${pre}\0${img.width}x${img.height}\0`)
    .update(img.data)
    .digest('hex');
}

/**
 * Embeds the images `indices` of `source` (in that order) after the preprocessing `reversal`;
 * returns [indices.length, embedder.embeddingDim]. Batches of `batchSize`, bounded memory.
 */
export async function embedForAttack(
  source: FaceSource,
  indices: readonly number[],
  embedder: Embedder,
  opts: {
    fingerprint: string;
    reversal?: Reversal;
    cache?: EmbeddingCache;
    batchSize?: number;
    onProgress?: OnProgress;
    onWarning?: OnWarning;
    label?: string;
    /** Fills removed patches (the `inpaint` restoration). */
    inpainter?: Inpainter;
  },
): Promise<Float32Array> {
  const s = embedder.inputSize;
  const d = embedder.embeddingDim;
  const rev = opts.reversal ?? { kind: 'none' };
  const bs = opts.batchSize ?? 32;
  const out = new Float32Array(indices.length * d);
  for (let i = 0; i < indices.length; i += bs) {
    const part = indices.slice(i, i + bs);
    const imgs = await Promise.all(part.map((k) => source.read(k, { size: s, onWarning: opts.onWarning })));
    // content keys only when there is a cache to ask
    const keys = opts.cache ? imgs.map((img) => contentKey(img, rev, opts.inpainter)) : undefined;
    const todo: number[] = [];
    imgs.forEach((_, j) => {
      const hit = keys && opts.cache?.get(opts.fingerprint, d, keys[j]!);
      if (hit) out.set(hit, (i + j) * d);
      else todo.push(j);
    });
    if (todo.length > 0) {
      let restored: RgbImage[];
      if (rev.kind === 'inpaint') {
        if (!opts.inpainter)
          throw new FaceMaeError(
            "the inpainting restoration needs FaceMAE's public model (an inpainter)",
            'E_CONFIG',
          );
        restored = await opts.inpainter.inpaint(todo.map((j) => imgs[j]!));
      } else restored = todo.map((j) => applyReversal(imgs[j]!, rev));
      const pixels = new Uint8Array(todo.length * s * s * 3);
      restored.forEach((img, t) => pixels.set(img.data, t * s * s * 3));
      const emb = await embedder.embed(pixels, todo.length);
      if (emb.length !== todo.length * d)
        throw new FaceMaeError(
          `embedder ${embedder.name} returned ${emb.length} values for ${todo.length} images of dim ${d}`,
          'E_SHAPE',
        );
      todo.forEach((j, t) => {
        const e = emb.slice(t * d, (t + 1) * d);
        out.set(e, (i + j) * d);
        if (keys) opts.cache?.set(opts.fingerprint, d, keys[j]!, e);
      });
    }
    opts.onProgress?.(Math.min(indices.length, i + bs), indices.length, opts.label);
  }
  opts.cache?.flush();
  return out;
}
