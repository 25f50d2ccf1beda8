/**
 * Registers the project's wasm kernels, replacing (and keeping a handle on) the stock ones.
 * Which GEMM they call (native BLAS or JS) is switched through `ctx` without re-registering.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ctx } from './context.js';
import { batchMatMul, fusedMatMul } from './matmul.js';
import { conv2D, conv2DBackpropFilter, conv2DBackpropInput } from './conv.js';
import { depthwiseBackpropFilter, depthwiseBackpropInput, depthwiseForward } from './depthwise.js';
import { fusedConv2D, fusedDepthwiseConv2D } from './fused-conv.js';
import { unsortedSegmentSum } from './segment.js';
import { transpose } from './transpose.js';
import { reverse } from './reverse.js';
import { tile } from './tile.js';
import { mean, sum } from './reduce.js';
import { cast, identity } from './identity.js';
import { fusedBatchNorm } from './batchnorm.js';
import { add, maximum, minimum, multiply, relu, sub } from './binary.js';
import { slice } from './slice.js';
import { padV2 } from './pad.js';
import { prelu } from './prelu.js';
import { splitV } from './split.js';
import type { Gemm } from '../blas.js';

/** Kernel name -> implementation registered for backend 'wasm'. */
export const ENGINE_KERNELS: Record<string, tf.KernelFunc> = {
  BatchMatMul: batchMatMul as unknown as tf.KernelFunc,
  _FusedMatMul: fusedMatMul as unknown as tf.KernelFunc,
  Conv2D: conv2D as unknown as tf.KernelFunc,
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as tf.KernelFunc,
  Conv2DBackpropInput: conv2DBackpropInput as unknown as tf.KernelFunc,
  DepthwiseConv2dNative: depthwiseForward as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput as unknown as tf.KernelFunc,
  FusedConv2D: fusedConv2D as unknown as tf.KernelFunc,
  FusedDepthwiseConv2D: fusedDepthwiseConv2D as unknown as tf.KernelFunc,
  UnsortedSegmentSum: unsortedSegmentSum as unknown as tf.KernelFunc,
  Transpose: transpose as unknown as tf.KernelFunc,
  Reverse: reverse as unknown as tf.KernelFunc,
  Tile: tile as unknown as tf.KernelFunc,
  Sum: sum as unknown as tf.KernelFunc,
  Mean: mean as unknown as tf.KernelFunc,
  Identity: identity as unknown as tf.KernelFunc,
  Cast: cast as unknown as tf.KernelFunc,
  FusedBatchNorm: fusedBatchNorm as unknown as tf.KernelFunc,
  Maximum: maximum as unknown as tf.KernelFunc,
  Add: add as unknown as tf.KernelFunc,
  Sub: sub as unknown as tf.KernelFunc,
  Multiply: multiply as unknown as tf.KernelFunc,
  Relu: relu as unknown as tf.KernelFunc,
  Minimum: minimum as unknown as tf.KernelFunc,
  Slice: slice as unknown as tf.KernelFunc,
  PadV2: padV2 as unknown as tf.KernelFunc,
  Prelu: prelu as unknown as tf.KernelFunc,
  SplitV: splitV as unknown as tf.KernelFunc,
};

/** Stock kernels the project's kernels call without replacing them (captured before any profiler wraps them). */
const DELEGATED = [
  'DepthwiseConv2dNative',
  'Step',
  'Prelu',
  'Multiply',
  'Sub',
  'Square',
  'Add',
  'Relu',
  'Sigmoid',
  'Softmax',
];

let registered = false;

/** Idempotent; call after the wasm backend is initialised (stock kernels' setup has run). */
export function registerEngineKernels(gemm: Gemm, native: boolean, gemmSumK: Gemm | null = null): void {
  ctx.gemm = gemm;
  ctx.native = native;
  ctx.gemmSumK = gemmSumK;
  if (registered) return;
  for (const name of DELEGATED) {
    const k = tf.getKernel(name, 'wasm');
    if (k) ctx.stock.set(name, k.kernelFunc);
  }
  for (const [name, fn] of Object.entries(ENGINE_KERNELS)) {
    const existing = tf.getKernel(name, 'wasm');
    if (existing) {
      ctx.stock.set(name, existing.kernelFunc);
      tf.unregisterKernel(name, 'wasm');
    }
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn });
  }
  registered = true;
}

export { ctx } from './context.js';
export { collapseTranspose } from './transpose.js';
export { releaseConvScratch } from './conv.js';
export { batchNormTrain } from './batchnorm-train.js';
export { layerNormFused, LAYER_NORM } from './layernorm.js';
export { geluFused, GELU } from './gelu.js';
export { linearFused, LINEAR } from './linear.js';
export { attentionFused, ATTENTION } from './attention.js';
export { residualAdd } from './residual.js';
