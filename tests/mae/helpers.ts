import { tf } from '../../src/engine/backend.js';
import type { Rng } from '../../src/core/rng.js';
import type { FaceNet } from '../../src/types.js';
import type { MaeConfig } from '../../src/models/mae/config.js';

/** The test-size MAE: 32×32 px, patch 8 (16 patches), dim 32 × 2, decoder 16 × 1. */
export const TINY_TEST: MaeConfig = {
  imageSize: 32,
  patchSize: 8,
  dim: 32,
  depth: 2,
  heads: 2,
  decoderDim: 16,
  decoderDepth: 1,
  decoderHeads: 2,
  mlpRatio: 2,
  normPixLoss: false,
};

/** Random images [n,s,s,3] in [0,1] from the rng. */
export function randomImages(n: number, s: number, rng: Rng): tf.Tensor4D {
  return tf.tensor4d(rng.uniformArray(n * s * s * 3), [n, s, s, 3]);
}

/** A tiny random differentiable FaceNet: flatten -> dense -> tanh -> dense (frozen teacher stand-in). */
export function tinyFaceNet(size: number, dim: number, rng: Rng): FaceNet & { w1: tf.Variable; w2: tf.Variable } {
  const fin = size * size * 3;
  const w1 = tf.variable(tf.tensor2d(Float32Array.from({ length: fin * 24 }, () => rng.normal() / Math.sqrt(fin)), [fin, 24]));
  const w2 = tf.variable(tf.tensor2d(Float32Array.from({ length: 24 * dim }, () => rng.normal() / Math.sqrt(24)), [24, dim]));
  return {
    inputSize: size,
    embeddingDim: dim,
    w1,
    w2,
    apply: (x) =>
      tf.tidy(() => tf.matMul(tf.tanh(tf.matMul(tf.reshape(tf.sub(x, 0.5), [x.shape[0], fin]) as tf.Tensor2D, w1)), w2)),
    trainableVariables: () => [],
    dispose: () => {
      w1.dispose();
      w2.dispose();
    },
  };
}
