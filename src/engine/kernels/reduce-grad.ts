/**
 * The Sum and Mean gradients as one broadcast of dy. tfjs's own build `ones(x.shape)` in a JS loop
 * and multiply it by dy: the masked MSE's per-patch mean over [N, L, P] spent ~28 ms of each
 * tiny-MAE step filling ones. dx = broadcastTo(dy / n, x.shape) has the same values bit for bit
 * (dy·1 = dy; the one division happens before the broadcast instead of after), on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';

const expand = (dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor => {
  const shape = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis, x.shape)) shape[a] = 1;
  return tf.reshape(dy, shape);
};

let installed = false;

/** Replaces the Sum and Mean gradients; call before the gradient memory saver wraps gradients. */
export function installReduceGradients(): void {
  if (installed) return;
  installed = true;
  for (const kernelName of ['Sum', 'Mean'] as const) {
    tf.registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: ((dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
        const [x] = saved as [tf.Tensor];
        const axis = attrs.axis as number | number[];
        return {
          x: () => {
            let d = expand(dy, x, axis);
            if (kernelName === 'Mean') {
              const n = x.size / Math.max(dy.size, 1);
              d = tf.div(d, n);
            }
            return tf.broadcastTo(d.dtype === 'float32' ? d : tf.cast(d, 'float32'), x.shape);
          },
        };
      }) as unknown as tf.GradFunc,
    });
  }
}
