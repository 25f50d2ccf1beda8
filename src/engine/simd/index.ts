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
import { nativeKernelsOn, type SimdKernels } from '../native/index.js';

export type { SimdKernels };

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
