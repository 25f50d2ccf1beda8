/**
 * Shared state of the project's wasm kernels: which GEMM they call and the stock kernels they
 * delegate to (captured before being replaced), plus views of wasm memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { jsGemm, type Gemm } from '../blas.js';

export interface KernelContext {
  gemm: Gemm;
  /** true when `gemm` is native BLAS (fast at any shape); false for the JS fallback. */
  native: boolean;
  /** Stock wasm kernel functions by name, captured at registration. */
  stock: Map<string, tf.KernelFunc>;
  /** Upper bound (floats) of one im2col scratch buffer; convolution is chunked over the batch to fit. */
  scratchFloats: number;
  /** The native BLAS's K-split GEMM for filter gradients (unless FACEMAE_GEMM_SPLIT=off), or null: `gemm` then. */
  gemmSumK: Gemm | null;
}

export const ctx: KernelContext = {
  gemm: () => {
    throw new Error('engine kernels used before initEngine()');
  },
  native: false,
  stock: new Map(),
  scratchFloats: 8 << 20,
  gemmSumK: null,
};

/**
 * Float32 view of a tensor's wasm memory. Make views only after every allocation of the kernel
 * (makeOutput may grow the memory and detach older views).
 */
/** The wasm heap (typed loosely: the emscripten module type omits HEAPU8). */
export function heap(backend: BackendWasm): Uint8Array {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
}

/** Byte offset of a tensor's data in the wasm backend's memory (what the SIMD kernels take). */
/**
 * True when `shape` is [C] after leading 1s (a rank-0 shape counts as [1]): one value per channel
 * of the last axis, as a bias, a PReLU slope or a folded BatchNorm broadcasts.
 */
export const isRow = (shape: number[], C: number): boolean =>
  shape.length === 0 ? C === 1 : shape[shape.length - 1] === C && shape.slice(0, -1).every((d) => d === 1);

export function addressOf(backend: tf.KernelBackend, t: tf.TensorInfo): number {
  const data = (backend as BackendWasm).dataIdMap.get(t.dataId);
  if (!data || data.memoryOffset == null) throw new Error('tensor has no wasm memory');
  return data.memoryOffset;
}

export function f32(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return new Float32Array(heap(backend).buffer, addressOf(backend, t), tf.util.sizeFromShape(t.shape));
}

export function i32(backend: BackendWasm, t: tf.TensorInfo): Int32Array {
  return new Int32Array(heap(backend).buffer, addressOf(backend, t), tf.util.sizeFromShape(t.shape));
}

/** A convolution's geometry {H,W,C,OH,OW,KH,KW,sh,sw,dh,dw,pt,pl}, as the native and SIMD kernels read it. */
export function convGeometry(c: tf.backend_util.Conv2DInfo): number[] {
  return [
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
  ];
}

/**
 * Runs `call` with the address of a convolution's geometry {N,H,W,C,OH,OW,KH,KW,sh,sw,dh,dw,pt,pl,
 * last} as int32 in wasm memory, the layout the native convolution kernels read; `last` is the
 * output channels (a convolution) or the channel multiplier (a depthwise one).
 */
export function withConvGeometry<T>(
  backend: BackendWasm,
  c: tf.backend_util.Conv2DInfo,
  last: number,
  call: (geometry: number) => T,
): T {
  const geo = backend.makeOutput([15], 'int32');
  i32(backend, geo).set([c.batchSize, ...convGeometry(c), last]);
  try {
    return call(addressOf(backend, geo));
  } finally {
    backend.disposeData(geo.dataId);
  }
}

interface CpuBackend extends tf.KernelBackend {
  data: { get(id: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
}

/** The project's own kernels (LayerNorm, BatchNorm training, the optimizer) run on these two. */
export const OWN_KERNEL_BACKENDS = ['wasm', 'cpu'] as const;

export const isWasm = (backend: tf.KernelBackend): backend is BackendWasm => 'dataIdMap' in backend;

/** The GEMM a kernel on `backendName` calls: the engine's (native or JS) on wasm, JS on cpu. */
export function gemmFor(backendName: string): Gemm {
  return backendName === 'wasm' ? ctx.gemm : jsGemm;
}

let ones = new Float32Array(0);
/** n ones (a shared buffer): onesᵀ·X is X's column sums as one GEMM. */
export function onesOf(n: number): Float32Array {
  if (ones.length < n) ones = new Float32Array(n).fill(1);
  return ones.subarray(0, n);
}

/**
 * A float32 view of a tensor's memory on the wasm backend (its heap: valid until the next
 * allocation) or the cpu backend (its array); other backends are refused.
 */
export function floatView(backend: tf.KernelBackend, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  if (isWasm(backend)) return f32(backend, t);
  const values = (backend as CpuBackend).data?.get(t.dataId)?.values;
  if (values instanceof Float32Array) return values;
  throw new Error('this kernel runs on the wasm or cpu backend only');
}

/** A new float32 tensor of `shape` on the wasm or cpu backend, holding `values` when given. */
export function newFloat(backend: tf.KernelBackend, shape: number[], values?: Float32Array): tf.TensorInfo {
  if (!isWasm(backend))
    return (backend as CpuBackend).makeTensorInfo(
      shape,
      'float32',
      values ?? new Float32Array(tf.util.sizeFromShape(shape)),
    );
  const t = backend.makeOutput(shape, 'float32');
  if (values) f32(backend, t).set(values);
  return t;
}

/** Registers `make(backendName)` as kernel `name` on each of OWN_KERNEL_BACKENDS that lacks it. */
export function registerOwnKernel(name: string, make: (backendName: string) => unknown): void {
  for (const backendName of OWN_KERNEL_BACKENDS) {
    if (!tf.getKernel(name, backendName))
      tf.registerKernel({ kernelName: name, backendName, kernelFunc: make(backendName) as tf.KernelFunc });
  }
}

/**
 * Runs kernel `name` from inside one of the project's kernels: the captured stock kernel on wasm
 * (bypassing the profiler and any project override), the registered one on the cpu backend.
 */
export function callKernel(
  backendName: string,
  backend: tf.KernelBackend,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  if (backendName === 'wasm') return stock(name, backend as BackendWasm, inputs, attrs);
  const k = tf.getKernel(name, backendName);
  if (!k) throw new Error(`kernel ${name} missing on ${backendName}`);
  return k.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

/** Calls the captured stock wasm kernel `name`. */
export function stock(
  name: string,
  backend: BackendWasm,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const fn = ctx.stock.get(name);
  if (!fn) throw new Error(`stock wasm kernel ${name} not captured`);
  return fn({ inputs, backend, attrs }) as tf.TensorInfo;
}

/** A reshaped alias of `t` that shares its memory (like the stock Reshape kernel). */
export function alias(backend: BackendWasm, t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  backend.incRef(t.dataId);
  return { dataId: t.dataId, shape, dtype: t.dtype };
}
