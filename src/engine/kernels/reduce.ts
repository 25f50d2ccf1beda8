/**
 * Sum and Mean over leading axes (BatchNorm statistics and bias gradients reduce [N,H,W] of
 * [N,H,W,C]; stock tfjs-wasm transposes the whole tensor first). Computed as onesᵀ·X [R,D] with
 * GEMM; other reductions go to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ctx, f32, onesOf, stock } from './context.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

/** Number of leading axes reduced, or -1 if the axes are not a proper leading prefix. */
function leadingAxes(shape: number[], axis: number | number[]): number {
  const axes = tf.util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= shape.length) return -1;
  for (let i = 0; i < axes.length; i++) if (axes[i] !== i) return -1;
  return axes.length;
}

function reduceLeading(args: Args, name: 'Sum' | 'Mean'): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { backend, attrs } = args;
  const k = x.dtype === 'float32' ? leadingAxes(x.shape, attrs.axis as number | number[]) : -1;
  if (k < 0) return stock(name, backend, args.inputs, attrs);
  const R = tf.util.sizeFromShape(x.shape.slice(0, k));
  const rest = x.shape.slice(k);
  const D = tf.util.sizeFromShape(rest);
  const outShape = attrs.keepDims ? [...x.shape.slice(0, k).map(() => 1), ...rest] : rest;
  const out = backend.makeOutput(outShape, 'float32');
  const xv = f32(backend, x);
  const ov = f32(backend, out);
  const scale = name === 'Mean' ? 1 / Math.max(R, 1) : 1;
  if (R === 0 || D === 0) {
    ov.fill(name === 'Mean' ? NaN : 0);
    return out;
  }
  if (ctx.native) {
    ctx.gemm(false, false, 1, D, R, scale, onesOf(R), R, xv, D, 0, ov, D);
  } else {
    // float64 accumulation row by row (cache-friendly), like a pairwise-free but stable sum
    const acc = new Float64Array(D);
    for (let r = 0; r < R; r++) {
      const o = r * D;
      for (let j = 0; j < D; j++) acc[j]! += xv[o + j]!;
    }
    for (let j = 0; j < D; j++) ov[j] = acc[j]! * scale;
  }
  return out;
}

export const sum = (args: Args): tf.TensorInfo => reduceLeading(args, 'Sum');
export const mean = (args: Args): tf.TensorInfo => reduceLeading(args, 'Mean');
