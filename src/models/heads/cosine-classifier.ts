/**
 * The class centres of margin-based face recognition (insightface partial_fc_v2.py PartialFC without
 * the sampling): cos = normalise(embeddings) · normalise(W), clamped to [-1, 1]. W is [D, C] so the
 * forward and backward are plain 2-D matmuls; init N(0, 0.01) as PartialFC.
 */
import { tf } from '../../engine/backend.js';
import type { Rng } from '../../core/rng.js';

export interface CosineClassifier {
  readonly numClasses: number;
  readonly embeddingDim: number;
  /** Centres [D, C]. */
  readonly weight: tf.Variable;
  /** emb [N,D] -> cos [N,C] in [-1,1]. */
  apply(emb: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** Row-wise (axis) L2 normalisation with a floor, so zero vectors give zeros, not NaN. */
export function l2Normalize(x: tf.Tensor, axis: number): tf.Tensor {
  return tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), axis, true), 1e-12)));
}

export function createCosineClassifier(embeddingDim: number, numClasses: number, rng: Rng): CosineClassifier {
  const init = Float32Array.from({ length: embeddingDim * numClasses }, () => rng.normal() * 0.01);
  const t = tf.tensor2d(init, [embeddingDim, numClasses]);
  const weight = tf.variable(t, true, `head.weight#${rng.int(1e9)}`);
  t.dispose();
  return {
    numClasses,
    embeddingDim,
    weight,
    apply: (emb) =>
      tf.tidy(
        () =>
          tf.clipByValue(
            tf.matMul(l2Normalize(emb, 1) as tf.Tensor2D, l2Normalize(weight, 0) as tf.Tensor2D),
            -1,
            1,
          ) as tf.Tensor2D,
      ),
    dispose: () => weight.dispose(),
  };
}
