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

it.runIf(!hasBlas)('no native BLAS on this machine: BLAS-path tests skipped', () => {
  expect(hasBlas).toBe(false);
});
