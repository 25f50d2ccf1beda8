/**
 * MAE reconstruction loss (facebookresearch/mae `forward_loss`): per-patch mean squared error,
 * averaged over removed patches only (mask 1 = removed). The normalised-pixel target, if any, is
 * built by the model (MaeForward.target).
 */
import { tf } from '../engine/backend.js';

/** pred, target [N,L,P]; mask [N,L] (1 = removed) -> scalar mean over removed patches. */
export function maskedMse(pred: tf.Tensor3D, target: tf.Tensor3D, mask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const perPatch = tf.mean(tf.square(tf.sub(pred, target)), -1); // [N,L]
    return tf.div(tf.sum(tf.mul(perPatch, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}
