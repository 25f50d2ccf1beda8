import { afterAll, beforeAll, describe, expect } from 'vitest';
import { setupEngine, tf } from './harness.js';
import { kernelSuite } from './kernel-suite.js';
import { simdKernels } from '../../src/engine/index.js';
import { nativeKernels, setNativeKernels, wasmMemoryOf } from '../../src/engine/native/index.js';
import { wasmSimdKernels } from '../../src/engine/simd/index.js';

// The same suite with the native kernels off (FACEMAE_NATIVE=off, or no C compiler): the wasm
// SIMD module on one thread, the stock Slice/Maximum/Minimum/RealDiv and the JS depthwise gradients.
describe('engine kernels without the native kernels (the SIMD module, stock and JS paths)', () => {
  let was = true;
  beforeAll(async () => {
    await setupEngine('auto');
    was = setNativeKernels(false);
    expect(nativeKernels(tf.backend())).toBeNull();
    expect(simdKernels(tf.backend())).toBe(wasmSimdKernels(wasmMemoryOf(tf.backend())!));
  });
  afterAll(() => {
    setNativeKernels(was);
  });
  kernelSuite();
});
