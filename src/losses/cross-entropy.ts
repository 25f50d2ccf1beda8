/** Softmax cross-entropy over class logits with integer labels (one-hot product, no gather). */
import { tf } from '../engine/backend.js';
import { FaceMaeError } from '../core/errors.js';

/**
 * labels [N] -> [N,C] float one-hot built in JS (rows labelled −1 are all zero). tf.oneHot's float
 * dtype is not honoured by the wasm kernel (it writes int bits), and a JS build is cheap.
 */
export function oneHotMatrix(labels: Int32Array, c: number): tf.Tensor2D {
  const m = new Float32Array(labels.length * c);
  labels.forEach((l, i) => {
    if (l >= 0) m[i * c + l] = 1;
  });
  return tf.tensor2d(m, [labels.length, c]);
}

/** logits [N,C], labels [N] -> scalar mean −log softmax(logits)[label]. Rows labelled −1 are ignored. */
export function crossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  const [n, c] = logits.shape;
  if (labels.length !== n) throw new FaceMaeError(`crossEntropy: ${labels.length} labels for ${n} rows`);
  const valid = labels.reduce((a, l) => a + (l >= 0 ? 1 : 0), 0);
  return tf.tidy(() => {
    const oneHot = oneHotMatrix(labels, c);
    const logp = tf.logSoftmax(logits);
    return tf.div(tf.neg(tf.sum(tf.mul(logp, oneHot))), Math.max(1, valid)) as tf.Scalar;
  });
}

/** Fraction of rows whose largest logit is the label (logits [N,C] as a Float32Array). */
export function top1Accuracy(logits: Float32Array, labels: Int32Array, numClasses: number): number {
  let hit = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < numClasses; k++)
      if ((logits[i * numClasses + k] as number) > (logits[i * numClasses + best] as number)) best = k;
    if (best === labels[i]) hit++;
  }
  return labels.length ? hit / labels.length : 0;
}
