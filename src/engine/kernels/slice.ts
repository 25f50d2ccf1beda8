/**
 * Slice of a 4-byte tensor (float32, int32) of rank ≤ 4 as one strided copy on the native
 * kernels, split over the engine's threads. Stock tfjs-wasm's Slice copied element by element:
 * the gradient of every tf.pad is a Slice, and in the parrot attacker's step (mobileface pads
 * before each depthwise convolution) it was 24% of the kernel time. Other dtypes and ranks, and
 * an engine without native kernels, keep the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, i32, stock } from './context.js';
import { nativeKernels } from '../native/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

export function slice(args: Args): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { backend, attrs } = args;
  const nat =
    (x.dtype === 'float32' || x.dtype === 'int32') && x.shape.length <= 4 ? nativeKernels(backend) : null;
  if (!nat) return stock('Slice', backend, args.inputs, attrs);
  const parsed = tf.slice_util.parseSliceParams(
    x as unknown as tf.Tensor,
    attrs.begin as number | number[],
    attrs.size as number | number[],
  );
  const begin = parsed[0]!;
  const size = parsed[1]!;
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  const pad = 4 - x.shape.length;
  const geo = backend.makeOutput([12], 'int32');
  const g = i32(backend, geo);
  for (let d = 0; d < 4; d++) {
    const i = d - pad;
    g[d] = i < 0 ? 1 : x.shape[i]!;
    g[4 + d] = i < 0 ? 0 : begin[i]!;
    g[8 + d] = i < 0 ? 1 : size[i]!;
  }
  nat.slice4(addressOf(backend, x), addressOf(backend, out), addressOf(backend, geo));
  backend.disposeData(geo.dataId);
  return out;
}
