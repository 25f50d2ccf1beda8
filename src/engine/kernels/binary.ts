/**
 * Maximum and Minimum of float32 tensors where one side is one value or both have the same shape,
 * on the native kernels (one pass, split over the engine's threads). Stock tfjs-wasm runs these
 * two (unlike Add, Sub, Multiply and RealDiv, which go to XNNPACK) through a generic broadcasting
 * loop without SIMD: max(x, 0.3) over [64,112,112,3] took 21 ms against 0.7 ms here (one thread),
 * and in the bundled mobileface attacker, whose graph writes each PReLU as max(x, 0) + γ·min(x, 0),
 * they were 72% of an embedding pass. Other shapes and dtypes, and an engine without native
 * kernels, keep the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, stock } from './context.js';
import { BINARY_OPS, nativeKernels } from '../native/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

function binary(name: string, op: number) {
  return (args: Args): tf.TensorInfo => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { backend } = args;
    const nat = a.dtype === 'float32' && b.dtype === 'float32' ? nativeKernels(backend) : null;
    if (nat) {
      const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const n = tf.util.sizeFromShape(shape);
      const na = tf.util.sizeFromShape(a.shape);
      const nb = tf.util.sizeFromShape(b.shape);
      if ((na === n || na === 1) && (nb === n || nb === 1) && n > 0) {
        const out = backend.makeOutput(shape, 'float32');
        const scalarA = na === 1 && n > 1 ? 1 : 0;
        const scalarB = nb === 1 && n > 1 ? 1 : 0;
        nat.binary(
          op,
          addressOf(backend, a),
          scalarA,
          addressOf(backend, b),
          scalarB,
          addressOf(backend, out),
          n,
        );
        return out;
      }
    }
    return stock(name, backend, args.inputs, args.attrs);
  };
}

export const maximum = binary('Maximum', BINARY_OPS.max);
export const minimum = binary('Minimum', BINARY_OPS.min);
