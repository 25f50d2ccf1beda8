import { beforeAll, describe, expect } from 'vitest';
import { setupEngine } from './harness.js';
import { kernelSuite } from './kernel-suite.js';

describe('engine kernels without BLAS (JS GEMM / stock wasm fallback)', () => {
  beforeAll(async () => {
    const info = await setupEngine('off');
    expect(info.blas).toBeNull();
  });
  kernelSuite();
});
