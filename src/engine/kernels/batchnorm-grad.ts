/**
 * The FusedBatchNorm gradient in two passes (wasm backend): one for dx, one for the per-channel
 * sums Σdy and Σ(x−mean)·dy from which the mean/variance/scale/offset gradients follow. tfjs's
 * generic gradient issues ~15 full-size ops per BatchNorm (Sub, Tile, several Multiplies and
 * Sums). Used for per-channel statistics (mean of rank 1 over x's last axis) on wasm only; other
 * cases and backends keep tfjs's gradient (the test reference).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { f32 } from './context.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

/** dx = dy · scale · rsqrt(variance + eps), per channel of the last axis. */
export function bnGradX(args: Args): tf.TensorInfo {
  const { dy, scale, variance } = args.inputs as {
    dy: tf.TensorInfo;
    scale: tf.TensorInfo;
    variance: tf.TensorInfo;
  };
  const { backend, attrs } = args;
  const eps = attrs.varianceEpsilon as number;
  const hasScale = Boolean(attrs.hasScale);
  const out = backend.makeOutput(dy.shape, 'float32');
  const gv = f32(backend, dy);
  const sv = f32(backend, scale);
  const vv = f32(backend, variance);
  const ov = f32(backend, out);
  const C = vv.length;
  const k = new Float32Array(C);
  for (let c = 0; c < C; c++) k[c] = (hasScale ? sv[sv.length === 1 ? 0 : c]! : 1) / Math.sqrt(vv[c]! + eps);
  for (let r = 0; r < gv.length; r += C) for (let c = 0; c < C; c++) ov[r + c] = gv[r + c]! * k[c]!;
  return out;
}

/** [2, C]: row 0 Σ dy, row 1 Σ (x − mean)·dy over all but the last axis. */
export function bnGradStats(args: Args): tf.TensorInfo {
  const { x, mean, dy } = args.inputs as { x: tf.TensorInfo; mean: tf.TensorInfo; dy: tf.TensorInfo };
  const { backend } = args;
  const C = tf.util.sizeFromShape(mean.shape);
  const out = backend.makeOutput([2, C], 'float32');
  const xv = f32(backend, x);
  const mv = f32(backend, mean);
  const gv = f32(backend, dy);
  const s1 = new Float64Array(C);
  const s2 = new Float64Array(C);
  const m = Float64Array.from(mv);
  const n = xv.length;
  // two rows per iteration (half the accumulator loads/stores), the mean as float64
  const C2 = 2 * C;
  let r = 0;
  for (; r + C2 <= n; r += C2) {
    for (let c = 0; c < C; c++) {
      const i = r + c;
      const j = i + C;
      const g0 = gv[i]!;
      const g1 = gv[j]!;
      const mc = m[c]!;
      s1[c]! += g0 + g1;
      s2[c]! += (xv[i]! - mc) * g0 + (xv[j]! - mc) * g1;
    }
  }
  for (; r < n; r += C) {
    for (let c = 0; c < C; c++) {
      const g = gv[r + c]!;
      s1[c]! += g;
      s2[c]! += (xv[r + c]! - m[c]!) * g;
    }
  }
  const ov = f32(backend, out);
  for (let c = 0; c < C; c++) {
    ov[c] = s1[c]!;
    ov[C + c] = s2[c]!;
  }
  return out;
}

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
  for (const [name, fn] of [
    ['FacemaeBatchNormGradX', bnGradX],
    ['FacemaeBatchNormGradStats', bnGradStats],
  ] as const) {
    if (!tf.getKernel(name, 'wasm')) {
      tf.registerKernel({
        kernelName: name,
        backendName: 'wasm',
        kernelFunc: fn as unknown as tf.KernelFunc,
      });
    }
  }
  const original = orig.gradFunc as unknown as GradFunc;
  tf.registerGradient({
    ...orig,
    gradFunc: ((dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      if (tf.getBackend() !== 'wasm' || !supported(x, mean, variance, scale))
        return original(dy, saved, attrs);
      const eps = attrs.varianceEpsilon as number;
      const eng = tf.engine();
      // per-channel sums, computed once for the four small gradients
      const stats = eng.runKernel('FacemaeBatchNormGradStats', {
        x,
        mean,
        dy,
      } as unknown as tf.NamedTensorMap) as tf.Tensor;
      const C = mean.size;
      const part = (row: number): tf.Tensor1D => tf.reshape(tf.slice(stats, [row, 0], [1, C]), [C]);
      const g = (): tf.Tensor => scale ?? tf.scalar(1);
      const r = (): tf.Tensor => tf.rsqrt(tf.add(variance, eps));
      return {
        x: () =>
          eng.runKernel(
            'FacemaeBatchNormGradX',
            { dy, scale: scale ?? variance, variance } as unknown as tf.NamedTensorMap,
            { varianceEpsilon: eps, hasScale: scale !== undefined },
          ) as tf.Tensor,
        mean: () => tf.reshape(tf.neg(tf.mul(tf.mul(r(), g()), part(0))), mean.shape),
        variance: () =>
          tf.reshape(tf.mul(tf.mul(tf.mul(tf.pow(r(), 3), g()), part(1)), -0.5), variance.shape),
        scale: () => tf.reshape(tf.mul(r(), part(1)), scale ? scale.shape : [C]),
        offset: () => tf.reshape(part(0), [C]),
      };
    }) as unknown as tf.GradFunc,
  });
}
