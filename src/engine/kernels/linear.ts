/**
 * A dense layer as one kernel, `FacemaeLinear`: y = x·W + b (+ r), with a one-kernel gradient,
 * `FacemaeLinearGrad`. Written as tf.matMul then tf.add (then tf.add of the residual), every layer
 * kept its output twice until the backward (the product, saved by Add only for its shape, and the
 * sum) and the residual Add kept both its inputs: about a third of the tiny MAE's activations.
 * This node saves x and W only (the bias and the residual need nothing saved), so a layer's output
 * lives on only if a later node needs it. Forward: the output starts as the residual (or zeros)
 * plus the bias row, then one GEMM accumulates x·W into it. Backward, three GEMMs:
 *   dx = dy·Wᵀ,  dW = xᵀ·dy,  db = 1ᵀ·dy,  dr = dy.
 *
 * Inputs x [..., K], w [K, N], optional b [N], optional r (the output's shape [..., N]).
 * Output y [..., N]. Registered for the wasm backend (GEMM on views of its heap: native BLAS, or
 * the stock fused matMul without it) and the cpu backend (the portable GEMM on its arrays).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ctx, floatView, gemmFor, newFloat, onesOf, registerOwnKernel, stock } from './context.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const LINEAR = 'FacemaeLinear';
const LINEAR_GRAD = 'FacemaeLinearGrad';

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

function dims(name: string, x: tf.TensorInfo, w: tf.TensorInfo): { M: number; K: number; N: number } {
  if (w.shape.length !== 2) throw new Error(`${name}: weights must be [K, N], got [${w.shape}]`);
  const [K, N] = w.shape as [number, number];
  if (x.shape[x.shape.length - 1] !== K)
    throw new Error(`${name}: input [${x.shape}] does not end in the weights' K = ${K}`);
  if (x.dtype !== 'float32' || w.dtype !== 'float32') throw new Error(`${name}: float32 only`);
  return { M: tf.util.sizeFromShape(x.shape) / Math.max(K, 1), K, N };
}

function forwardKernel(backendName: string) {
  return ({ inputs, backend }: Args): tf.TensorInfo => {
    const { x, w, b, r } = inputs as {
      x: tf.TensorInfo;
      w: tf.TensorInfo;
      b?: tf.TensorInfo;
      r?: tf.TensorInfo;
    };
    const { M, K, N } = dims(LINEAR, x, w);
    const outShape = [...x.shape.slice(0, -1), N];
    if (b && (b.shape.length !== 1 || b.shape[0] !== N))
      throw new Error(`${LINEAR}: bias must be [${N}], got [${b.shape}]`);
    if (r && !tf.util.arraysEqual(r.shape, outShape))
      throw new Error(`${LINEAR}: residual [${r.shape}] must have the output's shape [${outShape}]`);
    if (backendName === 'wasm' && !ctx.native) {
      // no native BLAS: the stock 2-D product (XNNPACK) beats the JS GEMM by far
      const wasm = backend as BackendWasm;
      // (it takes rank-3 operands, as tf.matMul hands every kernel)
      const x3 = { dataId: x.dataId, shape: [1, M, K], dtype: x.dtype };
      const w3 = { dataId: w.dataId, shape: [1, K, N], dtype: w.dtype };
      const y3 = stock('_FusedMatMul', wasm, b ? { a: x3, b: w3, bias: b } : { a: x3, b: w3 }, {
        transposeA: false,
        transposeB: false,
        activation: 'linear',
      });
      const y = { dataId: y3.dataId, shape: outShape, dtype: 'float32' as const };
      if (r) {
        const [yv, rv] = [y, r].map((t) => floatView(backend, t)) as [Float32Array, Float32Array];
        for (let i = 0; i < yv.length; i++) yv[i]! += rv[i]!;
      }
      return y;
    }
    const y = newFloat(backend, outShape);
    const [xv, wv, yv] = [x, w, y].map((t) => floatView(backend, t)) as Float32Array[];
    const gemm = gemmFor(backendName);
    if (r) yv!.set(floatView(backend, r));
    // the bias rows as a rank-1 product 1·bᵀ, split over the threads like every GEMM (was a JS loop over M·N)
    if (b) gemm(false, false, M, N, 1, 1, onesOf(M), 1, floatView(backend, b), N, r ? 1 : 0, yv!, N);
    gemm(false, false, M, N, K, 1, xv!, K, wv!, N, b || r ? 1 : 0, yv!, N);
    return y;
  };
}

function gradKernel(backendName: string) {
  return ({ inputs, backend }: Args): tf.TensorInfo[] => {
    const { dy, x, w } = inputs as Record<'dy' | 'x' | 'w', tf.TensorInfo>;
    const { M, K, N } = dims(LINEAR_GRAD, x, w);
    const dx = newFloat(backend, x.shape);
    const dw = newFloat(backend, [K, N]);
    const db = newFloat(backend, [N]);
    const [dyv, xv, wv, dxv, dwv, dbv] = [dy, x, w, dx, dw, db].map((t) =>
      floatView(backend, t),
    ) as Float32Array[];
    const gemm = gemmFor(backendName);
    gemm(false, true, M, K, N, 1, dyv!, N, wv!, N, 0, dxv!, K);
    gemm(true, false, K, N, M, 1, xv!, K, dyv!, N, 0, dwv!, N);
    gemm(false, false, 1, N, M, 1, onesOf(M), M, dyv!, N, 0, dbv!, N);
    return [dx, dw, db];
  };
}

const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): Record<string, () => tf.Tensor> => {
  const [x, w] = saved as [tf.Tensor, tf.Tensor2D];
  // eager, once: the closures share the one kernel's outputs
  const [dx, dw, db] = tf
    .engine()
    .runKernel(LINEAR_GRAD, { dy, x, w } as unknown as tf.NamedTensorMap) as unknown as [
    tf.Tensor,
    tf.Tensor2D,
    tf.Tensor1D,
  ];
  // tfjs asks only for the inputs the node had; an unused db is freed with the step
  return { x: () => dx, w: () => dw, b: () => db, r: () => tf.clone(dy) };
};

let installed = false;

/** Registers both kernels (wasm, cpu) and the gradient; call before the gradient memory saver wraps gradients. */
export function installLinear(): void {
  if (installed) return;
  installed = true;
  registerOwnKernel(LINEAR, forwardKernel);
  registerOwnKernel(LINEAR_GRAD, gradKernel);
  tf.registerGradient({
    kernelName: LINEAR,
    inputsToSave: ['x', 'w'],
    gradFunc: gradFunc as unknown as tf.GradFunc,
  });
}

/** x [..., K] · w [K, N] (+ b [N]) (+ r [..., N]) -> [..., N]: one kernel each way. */
export function linearFused<T extends tf.Tensor>(x: T, w: tf.Tensor2D, b?: tf.Tensor1D, r?: tf.Tensor): T {
  const inputs: Record<string, tf.Tensor> = { x, w };
  if (b) inputs.b = b;
  if (r) inputs.r = r;
  return tf.engine().runKernel(LINEAR, inputs as unknown as tf.NamedTensorMap) as T;
}
