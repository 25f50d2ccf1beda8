/**
 * GELU (tanh approximation, x·σ(c·(x + a·x³)), c = 2√(2/π), a = 0.044715) as one kernel,
 * `FacemaeGelu`, whose gradient kernel `FacemaeGeluGrad` recomputes σ from x. Composed from tfjs
 * ops, each GELU kept ~7 hidden-size tensors alive for the backward pass (x, x², x³, …, σ):
 * ~400 MB of the tiny MAE's ~1 GB wasm heap at batch 64. Here only x is kept. On wasm each way is
 * one SIMD pass (src/engine/simd); elsewhere the sigmoid is the backend's own kernel and the
 * polynomial and the products are JS passes:
 *   y = x·s,  dx = dy·(s + x·s·(1 − s)·c·(1 + 3a·x²)),  s = σ(c·(x + a·x³)).
 *
 * Input x (any shape, float32). Output y (x's shape).
 */
import * as tf from '@tensorflow/tfjs-core';
import { addressOf, callKernel, floatView, newFloat, registerOwnKernel } from './context.js';
import { simdKernels } from '../simd/index.js';

export const GELU = 'FacemaeGelu';
const GELU_GRAD = 'FacemaeGeluGrad';
const C = 2 * Math.sqrt(2 / Math.PI);
const A = 0.044715;

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

/** s = σ(c·(x + a·x³)) as a new tensor, by the backend's Sigmoid kernel. */
function sigmoidOfPoly(backendName: string, backend: tf.KernelBackend, x: tf.TensorInfo): tf.TensorInfo {
  const u = newFloat(backend, x.shape);
  const xv = floatView(backend, x);
  const uv = floatView(backend, u);
  for (let i = 0; i < xv.length; i++) {
    const v = xv[i]!;
    uv[i] = C * (v + A * v * v * v);
  }
  const s = callKernel(backendName, backend, 'Sigmoid', { x: u });
  backend.disposeData(u.dataId);
  return s;
}

function forwardKernel(backendName: string) {
  return ({ inputs, backend }: Args): tf.TensorInfo => {
    const { x } = inputs as { x: tf.TensorInfo };
    const simd = simdKernels(backend);
    if (simd) {
      const y = newFloat(backend, x.shape);
      simd.gelu(addressOf(backend, x), addressOf(backend, y), tf.util.sizeFromShape(x.shape));
      return y;
    }
    const s = sigmoidOfPoly(backendName, backend, x);
    const y = newFloat(backend, x.shape);
    const [xv, sv, yv] = [x, s, y].map((t) => floatView(backend, t)) as Float32Array[];
    for (let i = 0; i < xv!.length; i++) yv![i] = xv![i]! * sv![i]!;
    backend.disposeData(s.dataId);
    return y;
  };
}

function gradKernel(backendName: string) {
  return ({ inputs, backend }: Args): tf.TensorInfo => {
    const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
    const simd = simdKernels(backend);
    if (simd) {
      const dx = newFloat(backend, x.shape);
      const at = (t: tf.TensorInfo) => addressOf(backend, t);
      simd.gelu_grad(at(dy), at(x), at(dx), tf.util.sizeFromShape(x.shape));
      return dx;
    }
    const s = sigmoidOfPoly(backendName, backend, x);
    const dx = newFloat(backend, x.shape);
    const [dyv, xv, sv, dxv] = [dy, x, s, dx].map((t) => floatView(backend, t)) as Float32Array[];
    for (let i = 0; i < xv!.length; i++) {
      const v = xv![i]!;
      const si = sv![i]!;
      dxv![i] = dyv![i]! * (si + v * si * (1 - si) * C * (1 + 3 * A * v * v));
    }
    backend.disposeData(s.dataId);
    return dx;
  };
}

let installed = false;

/** Registers both kernels (wasm, cpu) and the gradient; call before the gradient memory saver wraps gradients. */
export function installGelu(): void {
  if (installed) return;
  installed = true;
  registerOwnKernel(GELU, forwardKernel);
  registerOwnKernel(GELU_GRAD, gradKernel);
  tf.registerGradient({
    kernelName: GELU,
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, saved: tf.Tensor[]) => ({
      x: () =>
        tf.engine().runKernel(GELU_GRAD, { dy, x: saved[0]! } as unknown as tf.NamedTensorMap) as tf.Tensor,
    })) as unknown as tf.GradFunc,
  });
}

/** GELU (tanh approximation) of x: one kernel each way. */
export function geluFused<T extends tf.Tensor>(x: T): T {
  return tf.engine().runKernel(GELU, { x } as unknown as tf.NamedTensorMap) as T;
}
