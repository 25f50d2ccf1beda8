/**
 * BatchNorm in training mode (batch statistics over every axis but the last) as one kernel,
 * `FacemaeBatchNormTrain`, with its own gradient. Composed from tfjs ops (mean, sub, square, mean,
 * rsqrt, mul, add), the backward pass walked ~20 nodes per BatchNorm, most of them full-size
 * (Sub, Mul, RealDiv, Neg, broadcast Sums and Means): ~30 % of an r-tiny train-fr step. Here the
 * forward is 4 element-wise passes + 2 column sums, the backward 6 passes + 2 column sums, with
 * the textbook formulas (x̂ = (x−μ)·r, r = 1/√(σ²+ε), k = γ·r, N rows):
 *   dβ = Σdy,  dγ = r·Σdy·(x−μ),  dx = k·dy − (k·dβ/N) − (x−μ)·(k·r·dγ/N).
 * Registered for the wasm backend (the project's SIMD kernels, src/engine/simd: three passes
 * forward, two backward, no full-size temporary; without them, stock SIMD element-wise kernels +
 * the GEMM column sums) and the cpu backend (its own kernels: the gradient tests' reference path).
 *
 * Inputs x [...,C], scale [C], offset [C]; attr varianceEpsilon.
 * Outputs y (x's shape), mean [C], variance [C] (biased, as the normalisation uses it).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, callKernel, floatView, newFloat, registerOwnKernel } from './context.js';
import { mean as gemmMean } from './reduce.js';
import { simdKernels, type SimdKernels } from '../simd/index.js';

export const BATCH_NORM_TRAIN = 'FacemaeBatchNormTrain';

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

/** The kernels this one is made of, on the active backend (the wasm ones bypass the profiler). */
function ops(backendName: string, backend: tf.KernelBackend) {
  const call = (name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}) =>
    backendName === 'wasm' && name === 'Mean'
      ? gemmMean({ inputs, backend: backend as BackendWasm, attrs })
      : callKernel(backendName, backend, name, inputs, attrs);
  const view = (t: tf.TensorInfo): Float32Array => floatView(backend, t);
  /** A new [C] float32 tensor holding `values`. */
  const vector = (values: Float32Array): tf.TensorInfo => newFloat(backend, [values.length], values);
  const free = (...ts: tf.TensorInfo[]) => {
    for (const t of ts) backend.disposeData(t.dataId);
  };
  return { call, view, vector, free };
}

/**
 * Scratch for the SIMD path: float64 sums s1, s2 [C], float32 block sums [2C], then two [C]
 * coefficient vectors (8C floats; tfjs's allocations are 8-byte aligned, as float64 needs).
 */
function scratch(backend: tf.KernelBackend, C: number) {
  const t = newFloat(backend, [8 * C]);
  const at = addressOf(backend, t);
  return {
    t,
    s1: at,
    s2: at + 8 * C,
    part: at + 16 * C,
    u: at + 24 * C,
    w: at + 28 * C,
    /** Views (take them after the last allocation). */
    f64: () => {
      const heap = floatView(backend, t).buffer;
      return [new Float64Array(heap, at, C), new Float64Array(heap, at + 8 * C, C)] as const;
    },
    f32: () => {
      const all = floatView(backend, t);
      return [all.subarray(6 * C, 7 * C), all.subarray(7 * C, 8 * C)] as const;
    },
  };
}

/** The forward as three SIMD passes (Σx; Σ(x−μ)²; y = x·k + (β − μ·k)), no full-size temporary. */
function forwardSimd(
  simd: SimdKernels,
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  scale: tf.TensorInfo,
  offset: tf.TensorInfo,
  eps: number,
): tf.TensorInfo[] {
  const C = x.shape[x.shape.length - 1]!;
  const R = tf.util.sizeFromShape(x.shape) / Math.max(C, 1);
  const y = newFloat(backend, x.shape);
  const mean = newFloat(backend, [C]);
  const variance = newFloat(backend, [C]);
  const sc = scratch(backend, C);
  const at = (t: tf.TensorInfo) => addressOf(backend, t);
  simd.channel_sums(at(x), 0, 0, R, C, sc.s1, sc.s2, sc.part);
  const mv = floatView(backend, mean);
  mv.set(sc.f64()[0].map((s) => s / R));
  simd.channel_sums(at(x), 0, at(mean), R, C, sc.s1, sc.s2, sc.part);
  const vv = floatView(backend, variance);
  vv.set(sc.f64()[0].map((s) => s / R));
  const gv = floatView(backend, scale);
  const bv = floatView(backend, offset);
  const [k, b] = sc.f32();
  for (let c = 0; c < C; c++) {
    k[c] = gv[c]! / Math.sqrt(vv[c]! + eps);
    b[c] = bv[c]! - mv[c]! * k[c]!;
  }
  simd.channel_affine(at(x), sc.u, sc.w, 0, 0, at(y), R, C);
  backend.disposeData(sc.t.dataId);
  return [y, mean, variance];
}

function batchNormTrainKernel(backendName: string) {
  return (args: Args): tf.TensorInfo[] => {
    const { x, scale, offset } = args.inputs as Record<'x' | 'scale' | 'offset', tf.TensorInfo>;
    const eps = args.attrs.varianceEpsilon as number;
    const simd = simdKernels(args.backend);
    if (simd) return forwardSimd(simd, args.backend, x, scale, offset, eps);
    const { call, view, vector, free } = ops(backendName, args.backend);
    const C = x.shape[x.shape.length - 1]!;
    const axis = x.shape.slice(0, -1).map((_, i) => i);
    const mean = call('Mean', { x }, { axis, keepDims: false });
    const d = call('Sub', { a: x, b: mean });
    const sq = call('Square', { x: d });
    const variance = call('Mean', { x: sq }, { axis, keepDims: false });
    free(sq);
    const vv = view(variance);
    const gv = view(scale);
    const k = new Float32Array(C);
    for (let c = 0; c < C; c++) k[c] = gv[c]! / Math.sqrt(vv[c]! + eps);
    const kT = vector(k);
    const t = call('Multiply', { a: d, b: kT });
    const y = call('Add', { a: t, b: offset });
    free(d, kT, t);
    return [y, mean, variance];
  };
}

type GradFunc = (
  dy: tf.Tensor | tf.Tensor[],
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
) => Record<string, () => tf.Tensor>;

const BATCH_NORM_TRAIN_GRAD = 'FacemaeBatchNormTrainGrad';

/**
 * The gradient in two SIMD passes (Σdy and Σdy·(x−μ); dx = dy·k + x·c2 + (c3 − μ·c2)), wasm only.
 * Inputs dy, x, scale, mean, variance; outputs dx, dscale, doffset.
 */
function gradKernel(args: Args): tf.TensorInfo[] {
  const { dy, x, scale, mean, variance } = args.inputs as Record<
    'dy' | 'x' | 'scale' | 'mean' | 'variance',
    tf.TensorInfo
  >;
  const { backend } = args;
  const simd = simdKernels(backend);
  if (!simd) throw new Error(`${BATCH_NORM_TRAIN_GRAD} needs the SIMD kernels`);
  const eps = args.attrs.varianceEpsilon as number;
  const C = x.shape[x.shape.length - 1]!;
  const R = tf.util.sizeFromShape(x.shape) / Math.max(C, 1);
  const dx = newFloat(backend, x.shape);
  const dscale = newFloat(backend, [C]);
  const doffset = newFloat(backend, [C]);
  const sc = scratch(backend, C);
  const at = (t: tf.TensorInfo) => addressOf(backend, t);
  simd.channel_sums(at(dy), at(x), at(mean), R, C, sc.s1, sc.s2, sc.part);
  const [sumDy, sumDyD] = sc.f64();
  const [gv, mv, vv, dgv, dbv] = [scale, mean, variance, dscale, doffset].map((t) =>
    floatView(backend, t),
  ) as Float32Array[];
  const [k, b] = sc.f32();
  // c2 [C] in the block-sum scratch, free once the sums are read (no allocation after the views)
  const c2 = floatView(backend, sc.t).subarray(4 * C, 5 * C);
  for (let c = 0; c < C; c++) {
    const r = 1 / Math.sqrt(vv![c]! + eps);
    const kc = gv![c]! * r;
    const dgamma = r * sumDyD[c]!;
    dgv![c] = dgamma;
    dbv![c] = sumDy[c]!;
    c2[c] = (-kc * r * dgamma) / R;
    k[c] = kc;
    b[c] = (-kc * sumDy[c]!) / R - mv![c]! * c2[c]!;
  }
  simd.channel_affine(at(dy), sc.u, sc.w, at(x), sc.part, at(dx), R, C);
  backend.disposeData(sc.t.dataId);
  return [dx, dscale, doffset];
}

const gradFunc: GradFunc = (dys, saved, attrs) => {
  const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor; // mean/variance feed no loss
  const [x, scale, mean, variance] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  if (simdKernels(tf.backend())) {
    // eager, once: the closures share the one kernel's outputs
    const [dx, dscale, doffset] = tf
      .engine()
      .runKernel(
        BATCH_NORM_TRAIN_GRAD,
        { dy, x, scale, mean, variance } as unknown as tf.NamedTensorMap,
        attrs,
      ) as unknown as tf.Tensor[];
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
  }
  const eps = attrs.varianceEpsilon as number;
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const n = x.size / mean.size;
  // eager (the memory saver frees them once this node is done), so the closures share them
  const [d, sumDy, sumDyD, k, r] = tf.tidy(() => {
    const dd = tf.sub(x, mean);
    const rr = tf.rsqrt(tf.add(variance, eps));
    return [dd, tf.sum(dy, axes), tf.sum(tf.mul(dy, dd), axes), tf.mul(scale, rr), rr];
  }) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  return {
    x: () => {
      const dgamma = tf.mul(r, sumDyD);
      const c2 = tf.mul(tf.mul(k, r), tf.div(dgamma, -n));
      const c3 = tf.mul(k, tf.div(sumDy, -n));
      return tf.add(tf.add(tf.mul(dy, k), tf.mul(d, c2)), c3);
    },
    scale: () => tf.mul(r, sumDyD),
    offset: () => tf.clone(sumDy),
  };
};

let installed = false;

/** Registers the kernel (wasm, cpu) and its gradient; call before the gradient memory saver wraps gradients. */
export function installBatchNormTrain(): void {
  if (installed) return;
  installed = true;
  registerOwnKernel(BATCH_NORM_TRAIN, batchNormTrainKernel);
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN_GRAD,
    backendName: 'wasm',
    kernelFunc: gradKernel as unknown as tf.KernelFunc,
  });
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: gradFunc as unknown as tf.GradFunc,
  });
}

/**
 * Training-mode BatchNorm of x [...,C] over all axes but the last: y = (x−μ)/√(σ²+ε)·scale + offset
 * with the batch's μ, σ² [C] (biased), returned for the running statistics.
 */
export function batchNormTrain(
  x: tf.Tensor,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  eps: number,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const [y, mean, variance] = tf
    .engine()
    .runKernel(BATCH_NORM_TRAIN, { x, scale, offset } as unknown as tf.NamedTensorMap, {
      varianceEpsilon: eps,
    }) as unknown as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  return { y: y!, mean: mean!, variance: variance! };
}
