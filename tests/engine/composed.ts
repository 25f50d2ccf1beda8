/**
 * The dense layer and multi-head attention written out with tfjs ops, as src/models/vit composes
 * them where the engine kernels are missing: the references for the one-kernel versions.
 */
import { tf } from './harness.js';

/** x [..., K] · w [K, N] (+ b) (+ r) */
export function composedLinear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D, r?: tf.Tensor): tf.Tensor {
  const K = w.shape[0];
  let y: tf.Tensor = tf.matMul(tf.reshape(x, [-1, K]) as tf.Tensor2D, w);
  if (b) y = tf.add(y, b);
  y = tf.reshape(y, [...x.shape.slice(0, -1), w.shape[1]]);
  return r ? tf.add(r, y) : y;
}

/** q, k, v [B, T, H·d] -> [B, T, H·d], scores scaled by 1/√d */
export function composedAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  heads: number,
): tf.Tensor3D {
  const [b, t, dim] = q.shape;
  const d = dim / heads;
  const split = (x: tf.Tensor3D) =>
    tf.reshape(tf.transpose(tf.reshape(x, [b, t, heads, d]), [0, 2, 1, 3]), [b * heads, t, d]) as tf.Tensor3D;
  const attn = tf.softmax(
    tf.matMul(tf.mul(split(q), 1 / Math.sqrt(d)), split(k), false, true) as tf.Tensor3D,
  );
  const o = tf.matMul(attn, split(v));
  return tf.reshape(tf.transpose(tf.reshape(o, [b, heads, t, d]), [0, 2, 1, 3]), [b, t, dim]) as tf.Tensor3D;
}
