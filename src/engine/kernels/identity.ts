/**
 * Identity, and Cast to the same dtype, as aliases of the input's memory (reference-counted, like
 * the cpu backend and Reshape). Stock tfjs-wasm copies: ~1,300 Identity copies per ViT-MAE step
 * (gradient plumbing) and a full activation copy in every tf.moments (its cast to float32).
 * Safe because no wasm kernel writes into its inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { stock } from './context.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

export function identity(args: Args): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return stock('Identity', args.backend, args.inputs, args.attrs);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function cast(args: Args): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if ((args.attrs.dtype as string) === x.dtype && x.dtype !== 'string') return identity(args);
  return stock('Cast', args.backend, args.inputs, args.attrs);
}
