import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine } from './harness.js';
import { kernelSuite } from './kernel-suite.js';
import { loadBlas } from '../../src/engine/index.js';

const hasBlas = loadBlas() !== null;

describe.skipIf(!hasBlas)('engine kernels with native BLAS', () => {
  beforeAll(async () => {
    const info = await setupEngine('auto');
    expect(info.blas).not.toBeNull();
  });
  kernelSuite();
});

// Runs on every machine: what the engine reports must agree with what the loader found (a
// machine with BLAS whose engine silently fell back, or the reverse, fails here).
it("the engine's 'auto' setup uses native BLAS exactly when the loader finds it", async () => {
  const info = await setupEngine('auto');
  expect(info.blas !== null).toBe(hasBlas);
});
