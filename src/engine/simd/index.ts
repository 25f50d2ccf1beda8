/**
 * The project's WebAssembly SIMD kernels (kernels.c, compiled into module.ts by
 * scripts/build-simd.sh), instantiated inside tfjs-backend-wasm's own memory: the module imports
 * that memory, so a kernel reads and writes tensors where they are, by byte offset. One pass each
 * where the stock kernels (or JS loops) took several: see kernels.c. `FACEMAE_SIMD=off` turns them
 * off (the kernels then take their JS or stock-kernel paths).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { SIMD_WASM_BASE64 } from './module.js';
import { isWasm } from '../kernels/context.js';
import { nativeKernelsOn } from '../native/index.js';

/** Every argument named like a tensor is a byte offset in the wasm backend's memory (0 = none). */
export interface SimdKernels {
  gelu(x: number, y: number, n: number): void;
  gelu_grad(dy: number, x: number, dx: number, n: number): void;
  layernorm(
    x: number,
    g: number,
    b: number,
    y: number,
    mean: number,
    rstd: number,
    R: number,
    D: number,
    eps: number,
  ): void;
  layernorm_grad(
    dy: number,
    x: number,
    gamma: number,
    mean: number,
    rstd: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    R: number,
    D: number,
  ): void;
  /** float64 s1, s2 [C]; part: 2C floats of scratch. */
  channel_sums(
    a: number,
    b: number,
    shift: number,
    R: number,
    C: number,
    s1: number,
    s2: number,
    part: number,
  ): void;
  channel_affine(
    x: number,
    k: number,
    b: number,
    z: number,
    kz: number,
    y: number,
    R: number,
    C: number,
  ): void;
  sum_squares(x: number, n: number): number;
  /** alpha [C] or one value (C = 1: R is then the element count). */
  prelu_grad_x(x: number, alpha: number, dy: number, dx: number, R: number, C: number): void;
  /** cols of images n0..n0+nb of x (NHWC); g: 13 int32 of geometry (see kernels.c). */
  im2col(x: number, cols: number, n0: number, nb: number, g: number): void;
  /** float64 s [C]; part: C floats of scratch. */
  prelu_grad_alpha(x: number, dy: number, R: number, C: number, s: number, part: number): void;
  adamw(
    p: number,
    g: number,
    m: number,
    v: number,
    out: number,
    n: number,
    s: number,
    b1: number,
    b2: number,
    decay: number,
    step: number,
    ib2: number,
    eps: number,
  ): void;
  sgd(
    p: number,
    g: number,
    buf: number,
    out: number,
    n: number,
    s: number,
    wd: number,
    mu: number,
    lr: number,
  ): void;
}

let memory: WebAssembly.Memory | null = null;
let kernels: SimdKernels | null = null;
let enabled = process.env.FACEMAE_SIMD !== 'off';

/**
 * The SIMD kernels bound to `backend`'s memory; null on other backends or when turned off. Where
 * the native kernels are loaded (src/engine/native) these are their native twins: the same
 * results bit for bit, split over the engine's threads.
 */
export function simdKernels(backend: tf.KernelBackend): SimdKernels | null {
  if (!enabled || !isWasm(backend)) return null;
  const mem = (backend.wasm as unknown as { asm?: { memory?: WebAssembly.Memory } }).asm?.memory;
  if (!(mem instanceof WebAssembly.Memory)) return null;
  const native = nativeKernelsOn(mem);
  if (native) return native;
  return wasmSimdKernels(mem);
}

/** The WebAssembly SIMD module itself on `mem` (single-threaded), whatever the native kernels' state. */
export function wasmSimdKernels(mem: WebAssembly.Memory): SimdKernels | null {
  if (mem !== memory) {
    memory = mem;
    try {
      const module = new WebAssembly.Module(Uint8Array.from(atob(SIMD_WASM_BASE64), (c) => c.charCodeAt(0)));
      kernels = new WebAssembly.Instance(module, { env: { memory: mem } }).exports as unknown as SimdKernels;
    } catch {
      kernels = null; // a runtime without wasm SIMD: every kernel keeps its stock or JS path
    }
  }
  return kernels;
}

/** Turns the SIMD kernels on or off (tests and benches compare both paths); returns the old state. */
export function setSimdKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}
