import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine } from './harness.js';
import { kernelSuite } from './kernel-suite.js';
import { gemmThreads, loadBlas } from '../../src/engine/index.js';
import { gemmSplitOn } from '../../src/engine/blas.js';

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

describe('gemmThreads (threads per GEMM shape)', () => {
  it('keeps thin products on one thread and wide ones on all', () => {
    // r-tiny's 16-channel 3×3 convolution (im2col [N·H·W, 144] · [144, 16]) and its filter gradient
    expect(gemmThreads(65536, 16, 16, 2)).toBe(1);
    expect(gemmThreads(16, 16, 65536, 2)).toBe(1);
    expect(gemmThreads(15680, 16, 144, 2)).toBe(1);
    // the MAE's attention and MLP products, r18-half's wide convolutions
    expect(gemmThreads(832, 768, 192, 2)).toBe(2);
    expect(gemmThreads(3528, 128, 2304, 2)).toBe(2);
    // big enough anyway, though thin
    expect(gemmThreads(63798, 32, 64, 2)).toBe(2);
    // small overall
    expect(gemmThreads(256, 128, 64, 2)).toBe(1);
  });
  it('row vectors use threads only when wide, and one thread stays one', () => {
    expect(gemmThreads(1, 16, 200704, 2)).toBe(1);
    expect(gemmThreads(1, 768, 832, 2)).toBe(2);
    expect(gemmThreads(832, 768, 192, 1)).toBe(1);
    expect(gemmThreads(832, 768, 192, 4)).toBe(4);
  });
});

describe('FACEMAE_GEMM_SPLIT', () => {
  const saved = process.env.FACEMAE_GEMM_SPLIT;
  const withValue = (v: string | undefined, f: () => void) => {
    if (v === undefined) delete process.env.FACEMAE_GEMM_SPLIT;
    else process.env.FACEMAE_GEMM_SPLIT = v;
    try {
      f();
    } finally {
      if (saved === undefined) delete process.env.FACEMAE_GEMM_SPLIT;
      else process.env.FACEMAE_GEMM_SPLIT = saved;
    }
  };
  it('is on unless set to off, and refuses any other value, naming it', () => {
    withValue(undefined, () => expect(gemmSplitOn()).toBe(true));
    withValue('rows', () => expect(gemmSplitOn()).toBe(true));
    withValue('off', () => expect(gemmSplitOn()).toBe(false));
    withValue('Rows ', () => expect(() => gemmSplitOn()).toThrow(/FACEMAE_GEMM_SPLIT must be "rows" or "off", got "Rows "/));
  });
});
