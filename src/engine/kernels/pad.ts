/**
 * PadV2 (tf.pad with a constant) of a float32 tensor of rank ≤ 4 on the native kernels: rows of
 * the constant and copies of x's rows, split over the engine's threads. The mobileface network
 * pads before each of its 13 depthwise convolutions (stock: ~2 ms a call at batch 64). Other
 * dtypes and ranks, and an engine without native kernels, keep the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, i32, stock } from './context.js';
import { nativeKernels } from '../native/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

export function padV2(args: Args): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { backend, attrs } = args;
  const paddings = attrs.paddings as [number, number][];
  const nat = x.dtype === 'float32' && x.shape.length <= 4 ? nativeKernels(backend) : null;
  if (!nat || paddings.some(([b, a]) => b < 0 || a < 0)) return stock('PadV2', backend, args.inputs, attrs);
  const shape = x.shape.map((s, i) => s + paddings[i]![0] + paddings[i]![1]);
  const out = backend.makeOutput(shape, 'float32');
  if (tf.util.sizeFromShape(shape) === 0) return out;
  const lead = 4 - x.shape.length;
  const geo = backend.makeOutput([12], 'int32');
  const g = i32(backend, geo);
  for (let d = 0; d < 4; d++) {
    const i = d - lead;
    g[d] = i < 0 ? 1 : x.shape[i]!;
    g[4 + d] = i < 0 ? 0 : paddings[i]![0];
    g[8 + d] = i < 0 ? 1 : shape[i]!;
  }
  nat.pad4(
    addressOf(backend, x),
    addressOf(backend, out),
    addressOf(backend, geo),
    (attrs.constantValue as number) ?? 0,
  );
  backend.disposeData(geo.dataId);
  return out;
}
