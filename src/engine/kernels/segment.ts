/**
 * UnsortedSegmentSum (the gradient of tf.gather), missing on stock tfjs-wasm.
 * x [S..., R...], segmentIds [S...] int32 -> [numSegments, R...]; ids outside [0, numSegments) are dropped.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { f32, i32 } from './context.js';

export function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { backend } = args;
  const numSegments = args.attrs.numSegments as number;
  if (segmentIds.dtype !== 'int32') throw new Error(`UnsortedSegmentSum: segmentIds must be int32`);
  const rest = x.shape.slice(segmentIds.shape.length);
  const inner = tf.util.sizeFromShape(rest);
  const out = backend.makeOutput([numSegments, ...rest], x.dtype);
  const ids = i32(backend, segmentIds);
  const xv = x.dtype === 'int32' ? i32(backend, x) : f32(backend, x);
  const ov = x.dtype === 'int32' ? i32(backend, out) : f32(backend, out);
  ov.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= numSegments) continue;
    const src = i * inner;
    const dst = id * inner;
    for (let j = 0; j < inner; j++) ov[dst + j]! += xv[src + j]!;
  }
  return out;
}
