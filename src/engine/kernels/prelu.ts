/**
 * PReLU forward on the native kernels, split over the engine's threads, where α is one value or
 * one per channel of the last axis (the shapes the fused gradients take too); other shapes, and
 * an engine without native kernels, keep the stock (XNNPACK, one thread) kernel. Every PReLU of
 * the recognizers: 19 % of an embedding pass of the faceplugin network imported into tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, isRow, stock } from './context.js';
import { nativeKernels } from '../native/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

export function prelu(args: Args): tf.TensorInfo {
  const { x, alpha } = args.inputs as { x: tf.TensorInfo; alpha: tf.TensorInfo };
  const { backend } = args;
  const n = tf.util.sizeFromShape(x.shape);
  const C = tf.util.sizeFromShape(alpha.shape);
  const perChannel = isRow(alpha.shape, x.shape[x.shape.length - 1] ?? -1);
  const nat =
    x.dtype === 'float32' && alpha.dtype === 'float32' && n > 0 && (C === 1 || perChannel)
      ? nativeKernels(backend)
      : null;
  if (!nat) return stock('Prelu', backend, args.inputs, args.attrs);
  const y = backend.makeOutput(x.shape, 'float32');
  nat.prelu(addressOf(backend, x), addressOf(backend, alpha), addressOf(backend, y), C === 1 ? n : n / C, C);
  return y;
}
