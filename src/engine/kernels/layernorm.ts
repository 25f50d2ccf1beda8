/**
 * LayerNorm over the last axis as one kernel, `FacemaeLayerNorm`, with a one-kernel gradient,
 * `FacemaeLayerNormGrad`. Composed from tfjs ops it was 9 kernels forward and ~20 backward, each a
 * pass over [rows, D] (the tiny MAE runs 34 LayerNorms a step, on up to 3,200 × 128 floats); here
 * the forward is 2 passes per row and the backward 2, in float64 per row (R rows of D):
 *   x̂ = (x − μ)·r,  r = 1/√(σ² + ε),  y = x̂·γ + β;
 *   dβ = Σ_rows dy,  dγ = Σ_rows dy·x̂,  dx = r·(g − mean_D(g) − x̂·mean_D(g·x̂)),  g = dy·γ.
 * Registered for the wasm backend (one SIMD pass per row each way, src/engine/simd; else JS on
 * views of its heap) and the cpu backend (its arrays).
 *
 * Inputs x [..., D], gamma [D], beta [D]; attr epsilon.
 * Outputs y (x's shape), mean [R], rstd [R] (R = size / D; saved for the gradient).
 */
import * as tf from '@tensorflow/tfjs-core';
import { addressOf, floatView, newFloat, registerOwnKernel } from './context.js';
import { simdKernels } from '../simd/index.js';

export const LAYER_NORM = 'FacemaeLayerNorm';
const LAYER_NORM_GRAD = 'FacemaeLayerNormGrad';

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

/** Output allocation and views (allocate every output before taking views: wasm memory may grow). */
function io(backend: tf.KernelBackend) {
  return {
    make: (shape: number[]) => newFloat(backend, shape),
    view: (t: tf.TensorInfo) => floatView(backend, t),
  };
}

function checkShapes(name: string, x: tf.TensorInfo, ...vectors: tf.TensorInfo[]): number {
  const D = x.shape[x.shape.length - 1] ?? 1;
  for (const v of vectors)
    if (v.shape.length !== 1 || v.shape[0] !== D)
      throw new Error(`${name}: expected a [${D}] vector, got [${v.shape}]`);
  if (x.dtype !== 'float32') throw new Error(`${name}: float32 only, got ${x.dtype}`);
  return D;
}

function forwardKernel() {
  return ({ inputs, backend, attrs }: Args): tf.TensorInfo[] => {
    const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
    const D = checkShapes(LAYER_NORM, x, gamma, beta);
    const R = tf.util.sizeFromShape(x.shape) / Math.max(D, 1);
    const eps = attrs.epsilon as number;
    const { make, view } = io(backend);
    const y = make(x.shape);
    const mean = make([R]);
    const rstd = make([R]);
    const simd = simdKernels(backend);
    if (simd) {
      const at = (t: tf.TensorInfo) => addressOf(backend, t);
      simd.layernorm(at(x), at(gamma), at(beta), at(y), at(mean), at(rstd), R, D, eps);
      return [y, mean, rstd];
    }
    const [xv, gv, bv, yv, mv, rv] = [x, gamma, beta, y, mean, rstd].map(view) as Float32Array[];
    for (let r = 0, o = 0; r < R; r++, o += D) {
      // one pass for Σx and Σx² (float64: no cancellation at LayerNorm scales), one to write
      let s = 0;
      let ss = 0;
      for (let j = o; j < o + D; j++) {
        const v = xv![j]!;
        s += v;
        ss += v * v;
      }
      const mu = s / D;
      const k = 1 / Math.sqrt(Math.max(ss / D - mu * mu, 0) + eps);
      mv![r] = mu;
      rv![r] = k;
      for (let j = 0; j < D; j++) yv![o + j] = (xv![o + j]! - mu) * k * gv![j]! + bv![j]!;
    }
    return [y, mean, rstd];
  };
}

function gradKernel() {
  return ({ inputs, backend }: Args): tf.TensorInfo[] => {
    const { dy, x, gamma, mean, rstd } = inputs as Record<
      'dy' | 'x' | 'gamma' | 'mean' | 'rstd',
      tf.TensorInfo
    >;
    const D = checkShapes(LAYER_NORM_GRAD, x, gamma);
    const R = tf.util.sizeFromShape(x.shape) / Math.max(D, 1);
    const { make, view } = io(backend);
    const dx = make(x.shape);
    const dgamma = make([D]);
    const dbeta = make([D]);
    const simd = simdKernels(backend);
    if (simd) {
      const at = (t: tf.TensorInfo) => addressOf(backend, t);
      simd.layernorm_grad(at(dy), at(x), at(gamma), at(mean), at(rstd), at(dx), at(dgamma), at(dbeta), R, D);
      return [dx, dgamma, dbeta];
    }
    const [dyv, xv, gv, mv, rv, dxv, dgv, dbv] = [dy, x, gamma, mean, rstd, dx, dgamma, dbeta].map(
      view,
    ) as Float32Array[];
    const accG = new Float64Array(D);
    const accB = new Float64Array(D);
    const xh = new Float64Array(D); // the row's x̂, kept for the second pass
    for (let r = 0, o = 0; r < R; r++, o += D) {
      const mu = mv![r]!;
      const k = rv![r]!;
      let sg = 0;
      let sgx = 0;
      for (let j = 0; j < D; j++) {
        const d = dyv![o + j]!;
        const h = (xv![o + j]! - mu) * k;
        const g = d * gv![j]!;
        xh[j] = h;
        sg += g;
        sgx += g * h;
        accB[j]! += d;
        accG[j]! += d * h;
      }
      const a = sg / D;
      const b = sgx / D;
      for (let j = 0; j < D; j++) dxv![o + j] = k * (dyv![o + j]! * gv![j]! - a - xh[j]! * b);
    }
    for (let j = 0; j < D; j++) {
      dgv![j] = accG[j]!;
      dbv![j] = accB[j]!;
    }
    return [dx, dgamma, dbeta];
  };
}

const gradFunc = (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Record<string, () => tf.Tensor> => {
  const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor; // mean and rstd feed no loss
  const [x, gamma, mean, rstd] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  // eager, once: the three closures share the one kernel's outputs
  const [dx, dgamma, dbeta] = tf
    .engine()
    .runKernel(LAYER_NORM_GRAD, { dy, x, gamma, mean, rstd } as unknown as tf.NamedTensorMap) as unknown as [
    tf.Tensor,
    tf.Tensor1D,
    tf.Tensor1D,
  ];
  return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
};

let installed = false;

/** Registers both kernels (wasm, cpu) and the gradient; call before the gradient memory saver wraps gradients. */
export function installLayerNorm(): void {
  if (installed) return;
  installed = true;
  registerOwnKernel(LAYER_NORM, forwardKernel);
  registerOwnKernel(LAYER_NORM_GRAD, gradKernel);
  tf.registerGradient({
    kernelName: LAYER_NORM,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: gradFunc as unknown as tf.GradFunc,
  });
}

/** LayerNorm of x [..., D] over its last axis with gain and bias [D]: one kernel each way. */
export function layerNormFused<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
): T {
  const [y] = tf.engine().runKernel(LAYER_NORM, { x, gamma, beta } as unknown as tf.NamedTensorMap, {
    epsilon: eps,
  }) as unknown as tf.Tensor[];
  return y as T;
}
