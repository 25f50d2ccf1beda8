/**
 * The residual sum a + b of two same-shape tensors as a kernel, `FacemaeResidualAdd`, that saves
 * nothing for the backward (its gradient is dy for both). tfjs's Add saves both inputs, only to
 * read their shapes for broadcasting, so a residual block's branch output lived until the
 * backward reached it: one activation per block that PyTorch frees at once.
 *
 * Inputs a, b (same shape, float32). Output a + b (the backend's own Add).
 */
import * as tf from '@tensorflow/tfjs-core';
import { callKernel, registerOwnKernel } from './context.js';

export const RESIDUAL_ADD = 'FacemaeResidualAdd';

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

function forwardKernel(backendName: string) {
  return ({ inputs, backend }: Args): tf.TensorInfo => {
    const { a, b } = inputs as Record<'a' | 'b', tf.TensorInfo>;
    if (!tf.util.arraysEqual(a.shape, b.shape) || a.dtype !== b.dtype)
      throw new Error(`${RESIDUAL_ADD}: shapes differ: [${a.shape}] ${a.dtype} vs [${b.shape}] ${b.dtype}`);
    return callKernel(backendName, backend, 'Add', { a, b });
  };
}

let installed = false;

/** Registers the kernel (wasm, cpu) and its gradient; call before the gradient memory saver wraps gradients. */
export function installResidualAdd(): void {
  if (installed) return;
  installed = true;
  registerOwnKernel(RESIDUAL_ADD, forwardKernel);
  tf.registerGradient({
    kernelName: RESIDUAL_ADD,
    inputsToSave: [],
    gradFunc: ((dy: tf.Tensor) => ({
      a: () => tf.clone(dy),
      b: () => tf.clone(dy),
    })) as unknown as tf.GradFunc,
  });
}

/** a + b for same-shape a, b; one kernel that keeps nothing for the backward where registered. */
export function residualAdd<T extends tf.Tensor>(a: T, b: T): T {
  if (!tf.getKernel(RESIDUAL_ADD, tf.getBackend())) return tf.add(a, b);
  return tf.engine().runKernel(RESIDUAL_ADD, { a, b } as unknown as tf.NamedTensorMap) as T;
}
