import fs from 'node:fs';
import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, tf } from './harness.js';
import { SIMD_SOURCE_SHA256, SIMD_WASM_BASE64 } from '../../src/engine/simd/module.js';
import { geluFused } from '../../src/engine/kernels/index.js';
import { simdKernels } from '../../src/engine/index.js';

const bytes = Uint8Array.from(atob(SIMD_WASM_BASE64), (c) => c.charCodeAt(0));

describe('the SIMD kernel module', () => {
  beforeAll(async () => {
    await setupEngine('auto');
  });

  it('was built from the kernels.c in the tree (rebuild: bash scripts/build-simd.sh)', () => {
    const sha = crypto
      .createHash('sha256')
      .update(fs.readFileSync('src/engine/simd/kernels.c'))
      .digest('hex');
    expect(SIMD_SOURCE_SHA256).toBe(sha);
  });

  it('imports only a memory and carries no data segment (it runs inside tfjs-wasm memory)', () => {
    const mod = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(mod).map((i) => i.kind)).toEqual(['memory']);
    const sections: number[] = [];
    for (let i = 8; i < bytes.length;) {
      sections.push(bytes[i++]!);
      let size = 0;
      let shift = 0;
      let b: number;
      do {
        b = bytes[i++]!;
        size |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80);
      i += size;
    }
    expect(sections).toContain(10); // code
    expect(sections).not.toContain(11); // data
  });

  it('is used on wasm; GELU matches the exact formula from -90 to 90 and leaves its neighbours alone', () => {
    expect(simdKernels(tf.backend())).not.toBeNull();
    const n = 1803; // not a multiple of 4: the scalar tail runs too
    const xs = Float32Array.from({ length: n }, (_, i) => -90 + (180 * i) / (n - 1));
    const before = tf.fill([1000], 7);
    const x = tf.tensor1d(xs);
    const after = tf.fill([1000], 7);
    const y = geluFused(x).dataSync();
    const c = 2 * Math.sqrt(2 / Math.PI);
    let err = 0;
    xs.forEach((v, i) => {
      const want = v / (1 + Math.exp(-c * (v + 0.044715 * v ** 3)));
      err = Math.max(err, Math.abs(y[i]! - want) / Math.max(1, Math.abs(want)));
    });
    expect(err).toBeLessThan(1e-6);
    for (const t of [before, after]) expect(Array.from(new Set(t.dataSync()))).toEqual([7]);
    tf.dispose([x, before, after]);
  });
});
