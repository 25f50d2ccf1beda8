/**
 * Held-out reconstruction quality: the masked-patch MSE of a trained MAE on images it never saw,
 * next to two trivial predictors under the same masks (normalised-pixel units, as the training loss):
 * - `visibleMean`: every removed patch predicted as the mean of the image's visible patches;
 * - `positionMean`: every removed patch predicted as the mean patch at that position over the
 *   evaluated images (an oracle that peeks at the evaluation set).
 * With a teacher (the IRM teacher, frozen), also how well the pasted-back reconstructions keep the
 * batch's relations (the IRM term at its defaults, per batch of `batchSize`, averaged) and each
 * face's identity (mean cosine similarity of the teacher's embeddings of real and reconstruction).
 */
import { tf } from '../engine/backend.js';
import { createRng } from '../core/rng.js';
import type { FaceNet, FaceRecord, OnProgress } from '../types.js';
import { DEFAULT_IRM, irmFromEmbeddings, teacherEmbeddings } from '../losses/irm.js';
import { createLoader } from '../data/loader.js';
import type { Mae } from '../models/mae/mae.js';
import { maskingFromNoise } from '../models/mae/masking.js';
import { patchify } from '../models/vit/patch.js';

export interface MaskedLossReport {
  images: number;
  maskRatio: number;
  seed: number;
  /** Masked-patch MSE of the model. */
  mae: number;
  visibleMean: number;
  positionMean: number;
  /** With a teacher: the IRM term (KL, τ 0.1, no low-pass) averaged over the batches. */
  relation?: number;
  /** With a teacher: mean cosine similarity of teacher(real) and teacher(reconstruction). */
  identityCosine?: number;
}

/** records: the evaluation images (e.g. 500 LFW faces). Masks depend on (seed, index) only. */
export async function evaluateMaskedLoss(
  mae: Mae,
  records: FaceRecord[],
  opts: { maskRatio: number; seed?: number; batchSize?: number; teacher?: FaceNet; onProgress?: OnProgress },
): Promise<MaskedLossReport> {
  const seed = opts.seed ?? 0;
  const L = mae.numPatches;
  const p = mae.config.patchSize;
  const pd = p * p * 3;
  const loader = () => createLoader({ records, batchSize: opts.batchSize ?? 32, size: mae.config.imageSize });
  const maskFor = (start: number, n: number) => {
    const noise = new Float32Array(n * L);
    for (let j = 0; j < n; j++)
      noise.set(
        createRng(seed)
          .fork(`eval-${start + j}`)
          .uniformArray(L),
        j * L,
      );
    return maskingFromNoise(noise, n, L, opts.maskRatio);
  };
  // pass 1: mean patch per position
  const sum = new Float64Array(L * pd);
  for await (const b of loader().epoch()) {
    const t = tf.tidy(() => tf.sum(patchify(tf.div(tf.sub(b.images, 0.5), 0.5) as tf.Tensor4D, p), 0));
    const v = await t.data();
    for (let i = 0; i < v.length; i++) sum[i] = (sum[i] as number) + (v[i] as number);
    t.dispose();
    b.images.dispose();
  }
  const posMean = tf.tensor3d(
    Float32Array.from(sum, (s) => s / records.length),
    [1, L, pd],
  );
  let start = 0;
  let removed = 0;
  const acc = {
    mae: 0,
    visibleMean: 0,
    positionMean: 0,
    relation: 0,
    cosine: 0,
    batches: 0,
    scoredImages: 0,
  };
  const teacher = opts.teacher;
  for await (const b of loader().epoch()) {
    const n = b.images.shape[0];
    const m = maskFor(start, n);
    const scored = teacher !== undefined && n >= 3;
    const sums = tf.tidy(() => {
      const f = mae.forward(b.images, m);
      const mask3 = tf.reshape(f.mask, [n, L, 1]);
      const se = (pred: tf.Tensor) => tf.sum(tf.mul(tf.mean(tf.square(tf.sub(pred, f.target)), -1), f.mask));
      const vis = tf.div(tf.sum(tf.mul(f.target, tf.sub(1, mask3)), 1, true), m.lenKeep);
      const out = [se(f.pred), se(vis), se(posMean)];
      if (scored) {
        // the same forward's reconstruction (visible patches pasted back), as deployment releases it
        const eReal = teacherEmbeddings(teacher, b.images);
        const eRec = teacherEmbeddings(teacher, mae.pasteBack(b.images, f));
        const unit = (e: tf.Tensor2D) => tf.div(e, tf.norm(e, 2, 1, true));
        out.push(irmFromEmbeddings(eReal, eRec, DEFAULT_IRM), tf.sum(tf.mul(unit(eReal), unit(eRec))));
      }
      return out;
    });
    const [a, vm, pm, rel, cos] = await Promise.all(sums.map(async (t) => (await t.data())[0] as number));
    acc.mae += a!;
    acc.visibleMean += vm!;
    acc.positionMean += pm!;
    if (scored) {
      acc.relation += rel!;
      acc.cosine += cos!;
      acc.batches++;
      acc.scoredImages += n;
    }
    tf.dispose([...sums, b.images]);
    removed += n * (L - m.lenKeep);
    start += n;
    opts.onProgress?.(start, records.length);
  }
  posMean.dispose();
  return {
    images: records.length,
    maskRatio: opts.maskRatio,
    seed,
    mae: acc.mae / removed,
    visibleMean: acc.visibleMean / removed,
    positionMean: acc.positionMean / removed,
    ...(teacher && acc.batches > 0
      ? { relation: acc.relation / acc.batches, identityCosine: acc.cosine / acc.scoredImages }
      : {}),
  };
}
