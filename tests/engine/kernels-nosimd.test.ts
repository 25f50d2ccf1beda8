import { afterAll, beforeAll, describe, expect } from 'vitest';
import { setupEngine, tf } from './harness.js';
import { kernelSuite } from './kernel-suite.js';
import { setSimdKernels, simdKernels } from '../../src/engine/index.js';

// The same suite with the project's SIMD kernels off (FACEMAE_SIMD=off): the paths they replace.
describe('engine kernels without the SIMD kernels (stock kernels and JS passes)', () => {
  let was = true;
  beforeAll(async () => {
    await setupEngine('auto');
    expect(simdKernels(tf.backend())).not.toBeNull(); // on by default on wasm
    was = setSimdKernels(false);
    expect(simdKernels(tf.backend())).toBeNull();
  });
  afterAll(() => {
    setSimdKernels(was);
  });
  kernelSuite();
});
