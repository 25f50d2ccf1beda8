/**
 * A lean FusedBatchNorm gradient (wasm backend): dx = dy·scale·rsqrt(var + eps) as one broadcast
 * multiply by a [C] factor, and the per-channel sums Σdy and Σ(x−mean)·dy (stock SIMD element-wise
 * kernels + the GEMM column sum) from which the mean/variance/scale/offset gradients follow on [C]
 * tensors. tfjs's generic gradient issues ~15 full-size ops per BatchNorm (Sub, Tile, several
 * Multiplies and Sums); one-pass JS kernels were 3–7× slower than these stock SIMD ops. Used for
 * per-channel statistics (mean of rank 1 over x's last axis) on wasm only; other cases and
 * backends keep tfjs's gradient (the test reference).
 */
import * as tf from '@tensorflow/tfjs-core';

type GradFunc = (
  dy: tf.Tensor,
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
) => Record<string, () => tf.Tensor>;

function supported(
  x: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  scale: tf.Tensor | undefined,
): boolean {
  const C = x.shape[x.rank - 1];
  if (
    x.dtype !== 'float32' ||
    mean.rank !== 1 ||
    mean.size !== C ||
    variance.rank !== 1 ||
    variance.size !== C
  ) {
    return false;
  }
  return !scale || scale.size === 1 || (scale.rank === 1 && scale.size === C);
}

/** Replaces the FusedBatchNorm gradient: fused kernels on wasm, tfjs's own elsewhere. */
export function installBatchNormGradient(): void {
  const orig = tf.getGradient('FusedBatchNorm');
  if (!orig) return;
  const original = orig.gradFunc as unknown as GradFunc;
  tf.registerGradient({
    ...orig,
    gradFunc: ((dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      if (tf.getBackend() !== 'wasm' || !supported(x, mean, variance, scale))
        return original(dy, saved, attrs);
      const eps = attrs.varianceEpsilon as number;
      const C = mean.size;
      // per-channel sums over all but the last axis; the stock SIMD element-wise kernels and the
      // GEMM column sum are several times faster than a JS pass
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      // computed here (not in the closures), so the full-size temporaries die in the tidy and the
      // two [C] sums are disposed with this node's other temporaries
      const sums = tf.tidy(() => [
        tf.reshape(tf.sum(dy, axes), [C]) as tf.Tensor1D,
        tf.reshape(tf.sum(tf.mul(tf.sub(x, tf.reshape(mean, [C])), dy), axes), [C]) as tf.Tensor1D,
      ]);
      const part = (row: number): tf.Tensor1D => sums[row]!;
      const g = (): tf.Tensor => scale ?? tf.scalar(1);
      const r = (): tf.Tensor => tf.rsqrt(tf.add(variance, eps));
      return {
        // dx = dy · scale · rsqrt(variance + eps), a broadcast multiply by a [C] factor
        x: () => tf.mul(dy, tf.reshape(tf.mul(tf.reshape(r(), [C]), tf.reshape(g(), [-1])), [C])),
        mean: () => tf.reshape(tf.neg(tf.mul(tf.mul(r(), g()), part(0))), mean.shape),
        variance: () =>
          tf.reshape(tf.mul(tf.mul(tf.mul(tf.pow(r(), 3), g()), part(1)), -0.5), variance.shape),
        scale: () => tf.reshape(tf.mul(r(), part(1)), scale ? scale.shape : [C]),
        offset: () => tf.reshape(part(0), [C]),
      };
    }) as unknown as tf.GradFunc,
  });
}
