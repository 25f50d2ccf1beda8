/**
 * Reverse on wasm as block copies: the stock kernel computes every element's coordinates
 * (~30 ns per element), a teacher's BGR channel swap and the flip augmentation cost 4 % of an IRM
 * step with it. The part of the shape after the last reversed axis is copied as contiguous blocks;
 * a reversed last axis (channel order) is a short reversed row per pixel. With the native kernels,
 * rank ≤ 4 runs there, split over the engine's threads (the JS loop took 24 ms to swap the
 * channels of [32,112,112,3], in every IRM step's teacher and every BGR embedder batch).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, i32, stock } from './context.js';
import { nativeKernels } from '../native/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

/** x [..] -> x with the axes `dims` reversed (float32 and int32: copied as 32-bit words). */
export function reverse(args: Args): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { backend, attrs } = args;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length === 0) {
    return stock('Reverse', backend, args.inputs, attrs);
  }
  const shape = x.shape;
  const rank = shape.length;
  const rev = new Set(tf.util.parseAxisParam(attrs.dims as number | number[], shape));
  const out = backend.makeOutput(shape, x.dtype);
  const nat = rank <= 4 && tf.util.sizeFromShape(shape) > 0 ? nativeKernels(backend) : null;
  if (nat) {
    const geo = backend.makeOutput([8], 'int32');
    const g = i32(backend, geo);
    const lead = 4 - rank;
    for (let d = 0; d < 4; d++) {
      g[d] = d < lead ? 1 : shape[d - lead]!;
      g[4 + d] = d >= lead && rev.has(d - lead) ? 1 : 0;
    }
    nat.reverse4(addressOf(backend, x), addressOf(backend, out), addressOf(backend, geo));
    backend.disposeData(geo.dataId);
    return out;
  }
  const src = i32(backend, x);
  const dst = i32(backend, out);
  const last = Math.max(-1, ...rev);
  if (last < 0) {
    dst.set(src);
    return out;
  }
  // [outer dims 0..last-1] × L (axis `last`, reversed) × B (contiguous block after it)
  const L = shape[last]!;
  let B = 1;
  for (let d = last + 1; d < rank; d++) B *= shape[d]!;
  const strides = new Array<number>(rank).fill(0);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  let outer = 1;
  for (let d = 0; d < last; d++) outer *= shape[d]!;
  const flipped = Array.from({ length: rank }, (_, d) => rev.has(d));
  const idx = new Array<number>(last).fill(0);
  let o = 0;
  for (let k = 0; k < outer; k++) {
    let base = 0;
    for (let d = 0; d < last; d++) {
      const i = idx[d]!;
      base += (flipped[d] ? shape[d]! - 1 - i : i) * strides[d]!;
    }
    if (B === 1) {
      const end = base + L - 1;
      for (let j = 0; j < L; j++) dst[o + j] = src[end - j]!;
      o += L;
    } else if (B >= 64) {
      for (let j = L - 1; j >= 0; j--, o += B) dst.set(src.subarray(base + j * B, base + j * B + B), o);
    } else {
      for (let j = L - 1; j >= 0; j--) {
        const from = base + j * B;
        for (let e = 0; e < B; e++) dst[o++] = src[from + e]!;
      }
    }
    for (let d = last - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}
