/**
 * SplitV (the gradient of every concat: the MAE's cls token and mask tokens) of a 4-byte tensor of
 * rank ≤ 4 as native strided copies, one per piece, split over the engine's threads. Stock
 * tfjs-wasm slices each piece element by element (~10 ms a call on the tiny MAE's [64,50,128]).
 * Other dtypes and ranks, and an engine without native kernels, keep the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, i32, stock } from './context.js';
import { nativeKernels } from '../native/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

export function splitV(args: Args): tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { backend, attrs } = args;
  const nat =
    (x.dtype === 'float32' || x.dtype === 'int32') && x.shape.length <= 4 ? nativeKernels(backend) : null;
  if (!nat) return stock('SplitV', backend, args.inputs, attrs) as unknown as tf.TensorInfo[];
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(
    x as unknown as tf.Tensor,
    attrs.numOrSizeSplits as number | number[],
    axis,
  );
  const outs = sizes.map((s) =>
    backend.makeOutput(
      x.shape.map((d, i) => (i === axis ? s : d)),
      x.dtype,
    ),
  );
  const geo = backend.makeOutput([12], 'int32');
  const lead = 4 - x.shape.length;
  let begin = 0;
  outs.forEach((out, k) => {
    if (tf.util.sizeFromShape(out.shape) > 0) {
      const g = i32(backend, geo); // a fresh view: nothing allocates between here and the call
      for (let d = 0; d < 4; d++) {
        const i = d - lead;
        g[d] = i < 0 ? 1 : x.shape[i]!;
        g[4 + d] = i === axis ? begin : 0;
        g[8 + d] = i < 0 ? 1 : out.shape[i]!;
      }
      nat.slice4(addressOf(backend, x), addressOf(backend, out), addressOf(backend, geo));
    }
    begin += sizes[k]!;
  });
  backend.disposeData(geo.dataId);
  return outs;
}
