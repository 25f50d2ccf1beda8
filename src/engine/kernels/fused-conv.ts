/**
 * `FusedConv2D` and `FusedDepthwiseConv2D` (tf.fused.conv2d / depthwiseConv2d, which tfjs runs fused
 * only outside gradients or with a linear activation): the project's convolution, then the bias and
 * a ReLU or PReLU in one native pass over its output (fm_bias_act), where the stock kernels are
 * XNNPACK on one thread and the unfused ops a Conv2D, an Add and a Prelu with two new tensors. The
 * values are those of the unfused ops bit for bit (the same float32 operations). Other activations,
 * bias or slope shapes, NCHW and a backend without the native kernels take the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, isRow, stock } from './context.js';
import { conv2D } from './conv.js';
import { depthwiseForward } from './depthwise.js';
import { nativeKernels } from '../native/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, prelu: 2 };

/** A [C] row over the last axis (`isRow`), or with `one`, a single value. */
function perChannel(t: tf.TensorInfo | undefined, C: number, one: boolean): boolean {
  if (!t) return true;
  if (t.dtype !== 'float32') return false;
  return (one && tf.util.sizeFromShape(t.shape) === 1) || isRow(t.shape, C);
}

function fused(
  name: string,
  conv: (args: Args) => tf.TensorInfo,
  outChannels: number,
  args: Args,
): tf.TensorInfo {
  const {
    x,
    filter,
    bias,
    preluActivationWeights: alpha,
  } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { backend, attrs } = args;
  const act = ACTIVATIONS[attrs.activation as string];
  const nat = nativeKernels(backend);
  if (
    !nat ||
    act === undefined ||
    attrs.dataFormat === 'NCHW' ||
    x?.dtype !== 'float32' ||
    !perChannel(bias, outChannels, false) ||
    (act === 2 && (!alpha || !perChannel(alpha, outChannels, true)))
  )
    return stock(name, backend, args.inputs, attrs);
  const y = conv({ inputs: { x: x, filter: filter! }, backend, attrs });
  const n = tf.util.sizeFromShape(y.shape);
  if (n > 0 && (bias || act > 0)) {
    const at = (t: tf.TensorInfo | undefined) => (t ? addressOf(backend, t) : 0);
    const nalpha = alpha ? tf.util.sizeFromShape(alpha.shape) : 0;
    nat.bias_act(at(y), at(bias), at(alpha), n / outChannels, outChannels, bias ? 1 : 0, act, nalpha);
  }
  return y;
}

/** y [N,OH,OW,Co] = act(conv2d(x, filter) + bias). */
export function fusedConv2D(args: Args): tf.TensorInfo {
  const filter = args.inputs.filter as tf.TensorInfo;
  return fused('FusedConv2D', conv2D, filter.shape[3]!, args);
}

/** y [N,OH,OW,C·M] = act(depthwiseConv2d(x, filter) + bias). */
export function fusedDepthwiseConv2D(args: Args): tf.TensorInfo {
  const filter = args.inputs.filter as tf.TensorInfo;
  return fused('FusedDepthwiseConv2D', depthwiseForward, filter.shape[2]! * filter.shape[3]!, args);
}
