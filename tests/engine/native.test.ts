/**
 * The native kernels (src/engine/native): each SIMD-module twin gives the SIMD module's bits on
 * one thread and on several (every call split, whatever its size), and the kernel suite passes
 * with every native kernel split over three threads. Skipped where no C compiler could build
 * them (the engine then runs the SIMD module, tested by the other suites).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, tf, randn, rngFor } from './harness.js';
import { kernelSuite } from './kernel-suite.js';
import { addressOf, ctx } from '../../src/engine/kernels/context.js';
import {
  loadNativeKernels,
  nativeKernels,
  nativeKernelsOn,
  setNativeKernels,
  setNativeThreads,
  wasmMemoryOf,
  type NativeKernels,
} from '../../src/engine/native/index.js';
import { wasmSimdKernels, type SimdKernels } from '../../src/engine/simd/index.js';
import { loadBlas } from '../../src/engine/index.js';
import { gemmRowSplit, setGemmRowSplit, setGemmSumK } from '../../src/engine/blas.js';
import { createRequire } from 'node:module';

const koffiAddress = (buf: ArrayBufferLike): bigint =>
  (createRequire(import.meta.url)('koffi') as typeof import('koffi')).address(buf) as bigint;

const available = loadNativeKernels(1, null) !== null;

type Kernels = SimdKernels | NativeKernels;

/**
 * Runs `call` on fresh copies of `inputs` (float32 tensors; int32 where `ints`), `outs` float32
 * outputs of the given sizes (zeroed), and returns every input and output's bits plus the return
 * value: in-place kernels (AdamW's moments) are compared too.
 */
function runKernel(
  k: Kernels,
  inputs: Float32Array[],
  outs: number[],
  call: (k: Kernels, at: number[]) => number | void,
  ints: Int32Array[] = [],
): { bits: Uint32Array[]; ret: number | void } {
  const backend = tf.backend();
  const ts = [
    ...inputs.map((d) => tf.tensor1d(d.slice())),
    ...outs.map((n) => tf.tensor1d(new Float32Array(n))),
    ...ints.map((d) => tf.tensor1d(d.slice(), 'int32')),
  ];
  const ret = call(
    k,
    ts.map((t) => addressOf(backend, t)),
  );
  const bits = ts.map((t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer));
  tf.dispose(ts);
  return { bits, ret };
}

describe.skipIf(!available)('native kernels', () => {
  let simd: SimdKernels;
  let native: NativeKernels;
  let restore = 1;
  beforeAll(async () => {
    await setupEngine('auto');
    const mem = wasmMemoryOf(tf.backend())!;
    simd = wasmSimdKernels(mem)!;
    native = nativeKernelsOn(mem)!;
    expect(simd).not.toBeNull();
    expect(native).not.toBeNull();
    restore = setNativeThreads(1);
  });
  afterAll(() => {
    setNativeThreads(restore, 1 << 16);
  });

  const rng = rngFor('native');
  const rand = (n: number, scale = 3): Float32Array => randn(rng, [n]).data.map((v) => v * scale);
  /** Signed zeros, zeros and a NaN among random values: the selects' edge cases. */
  const edgy = (n: number): Float32Array => {
    const x = rand(n);
    for (let i = 0; i < n; i += 7) x[i] = i % 3 === 0 ? -0 : 0;
    x[5] = NaN;
    return x;
  };

  /** Asserts SIMD module == native on 1 thread == native on 3 threads with every call split. */
  function sameBits(
    label: string,
    inputs: Float32Array[],
    outs: number[],
    call: Parameters<typeof runKernel>[3],
    ints?: Int32Array[],
  ) {
    const want = runKernel(simd, inputs, outs, call, ints);
    for (const threads of [1, 3]) {
      setNativeThreads(threads, 1);
      const got = runKernel(native, inputs, outs, call, ints);
      setNativeThreads(1, 1 << 16);
      expect(got.ret, `${label}, ${threads} threads: returned value`).toBe(want.ret);
      want.bits.forEach((w, i) => {
        const g = got.bits[i]!;
        const first = w.findIndex((v, j) => v !== g[j]);
        expect(first, `${label}, ${threads} threads: tensor ${i} differs first at element ${first}`).toBe(-1);
      });
    }
  }

  const n = 4099; // not a multiple of 4: the scalar tails run too
  it('GELU and its gradient', () => {
    sameBits('gelu', [rand(n)], [n], (k, [x, y]) => k.gelu(x!, y!, n));
    sameBits('gelu_grad', [rand(n), rand(n)], [n], (k, [dy, x, dx]) => k.gelu_grad(dy!, x!, dx!, n));
  });

  it('LayerNorm and its gradient (rows of 67 and of 192)', () => {
    for (const [R, D] of [
      [37, 67],
      [130, 192],
    ] as const) {
      const x = rand(R * D);
      const g = rand(D);
      const b = rand(D);
      sameBits(`layernorm ${D}`, [x, g, b], [R * D, R, R], (k, [x, g, b, y, m, r]) =>
        k.layernorm(x!, g!, b!, y!, m!, r!, R, D, 1e-6),
      );
      const mean = rand(R);
      const rstd = rand(R).map((v) => Math.abs(v) + 0.1);
      sameBits(`layernorm_grad ${D}`, [rand(R * D), x, g, mean, rstd], [R * D, D, D], (k, a) =>
        k.layernorm_grad(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, R, D),
      );
    }
  });

  it('per-channel sums (three modes) and the per-channel affine map (BatchNorm)', () => {
    // 67 and 64 channels split by channels; 16 and 3 (below 32) by blocks of 64 rows
    for (const [C, R] of [
      [67, 150], // two blocks of 64 rows and a partial one
      [64, 150],
      [16, 700],
      [3, 333],
    ] as const) {
      const a = rand(R * C);
      const b = rand(R * C);
      const shift = rand(C);
      // s1, s2: C float64 each = 2C floats; part: 2C floats
      sameBits(`sums ${C}`, [a], [2 * C, 2 * C, 2 * C], (k, [a, s1, s2, p]) =>
        k.channel_sums(a!, 0, 0, R, C, s1!, s2!, p!),
      );
      sameBits(`squares ${C}`, [a, shift], [2 * C, 2 * C, 2 * C], (k, [a, sh, s1, s2, p]) =>
        k.channel_sums(a!, 0, sh!, R, C, s1!, s2!, p!),
      );
      sameBits(`products ${C}`, [a, b, shift], [2 * C, 2 * C, 2 * C], (k, [a, b, sh, s1, s2, p]) =>
        k.channel_sums(a!, b!, sh!, R, C, s1!, s2!, p!),
      );
      sameBits(`affine ${C}`, [a, rand(C), rand(C)], [R * C], (k, [x, kk, bb, y]) =>
        k.channel_affine(x!, kk!, bb!, 0, 0, y!, R, C),
      );
      const signed = edgy(R * C);
      signed[5] = 2; // no NaN through arithmetic: its payload is not specified
      sameBits(
        `affine + z ${C}`,
        [signed, rand(C), rand(C), b, rand(C)],
        [R * C],
        (k, [x, kk, bb, z, kz, y]) => k.channel_affine(x!, kk!, bb!, z!, kz!, y!, R, C),
      );
    }
  });

  it('Σx² in float64 over blocks', () => {
    const m = 3 * 4096 + 77;
    sameBits('sum_squares', [rand(m)], [], (k, [x]) => k.sum_squares(x!, m));
  });

  it('PReLU gradients (one slope and per channel, with signed zeros and a NaN)', () => {
    const R = 150;
    const C = 67;
    sameBits('prelu_grad_x scalar', [edgy(n), rand(1), rand(n)], [n], (k, [x, al, dy, dx]) =>
      k.prelu_grad_x(x!, al!, dy!, dx!, n, 1),
    );
    sameBits('prelu_grad_x channels', [edgy(R * C), rand(C), rand(R * C)], [R * C], (k, [x, al, dy, dx]) =>
      k.prelu_grad_x(x!, al!, dy!, dx!, R, C),
    );
    const x = edgy(R * C);
    x[5] = 1; // a NaN would make the slope's sums NaN: compare numbers
    sameBits('prelu_grad_alpha', [x, rand(R * C)], [2 * C, C], (k, [x, dy, s, p]) =>
      k.prelu_grad_alpha(x!, dy!, R, C, s!, p!),
    );
    // fewer than 32 channels (and a scalar slope's four lanes): the row blocks split
    for (const [c, r] of [
      [16, 700],
      [4, 333],
    ] as const) {
      const xt = edgy(r * c);
      xt[5] = 1;
      sameBits(`prelu_grad_alpha ${c}`, [xt, rand(r * c)], [2 * c, c], (k, [x, dy, s, p]) =>
        k.prelu_grad_alpha(x!, dy!, r, c, s!, p!),
      );
    }
  });

  it('AdamW and SGD (moments and momentum written in place)', () => {
    const args = [0.7, 0.9, 0.95, 0.9995, 1e-3, 1.3, 1e-8] as const;
    sameBits('adamw', [rand(n), rand(n), rand(n), rand(n).map(Math.abs)], [n], (k, [p, g, m, v, out]) =>
      k.adamw(p!, g!, m!, v!, out!, n, ...args),
    );
    sameBits('sgd momentum', [rand(n), rand(n), rand(n)], [n], (k, [p, g, buf, out]) =>
      k.sgd(p!, g!, buf!, out!, n, 0.7, 5e-4, 0.9, 0.1),
    );
    sameBits('sgd plain', [rand(n), rand(n)], [n], (k, [p, g, out]) =>
      k.sgd(p!, g!, 0, out!, n, 0.7, 5e-4, 0.9, 0.1),
    );
  });

  it('im2col (padding, stride 2, images 1..4 of 5)', () => {
    const [N, H, W, C, KH, KW, s, pad] = [5, 9, 8, 3, 3, 3, 2, 1];
    const OH = Math.floor((H + 2 * pad - KH) / s) + 1;
    const OW = Math.floor((W + 2 * pad - KW) / s) + 1;
    const geo = Int32Array.from([H, W, C, OH, OW, KH, KW, s, s, 1, 1, pad, pad]);
    const cols = 4 * OH * OW * KH * KW * C;
    sameBits('im2col', [rand(N * H * W * C)], [cols], (k, [x, out, g]) => k.im2col(x!, out!, 1, 4, g!), [
      geo,
    ]);
  });

  it.each([
    ['short rows', 13],
    ['long rows (BLAS per head)', 30],
  ])('attention and its gradient, %s: the same bits on one thread and on three', (_, T) => {
    const [B, H, d] = [3, 3, 16];
    const D = H * d;
    const size = B * T * D;
    const inputs = [rand(size), rand(size), rand(size), rand(size)];
    const runs = [1, 3].map((threads) => {
      setNativeThreads(threads, 1);
      const fwd = runKernel(native, inputs.slice(0, 3), [size], (k, [q, kk, v, o]) =>
        (k as NativeKernels).attention(q!, kk!, v!, o!, B, T, D, H, 0.25),
      );
      const grad = runKernel(native, inputs, [size, size, size], (k, [q, kk, v, dy, dq, dk, dv]) =>
        (k as NativeKernels).attention_grad(dy!, q!, kk!, v!, dq!, dk!, dv!, B, T, D, H, 0.25),
      );
      setNativeThreads(1, 1 << 16);
      return [...fwd.bits.slice(3), ...grad.bits.slice(4)];
    });
    runs[0]!.forEach((w, i) => {
      expect(w.some((v) => v !== 0)).toBe(true);
      expect(
        w.findIndex((v, j) => v !== runs[1]![i]![j]),
        `output ${i}`,
      ).toBe(-1);
    });
  });

  it('the depthwise convolution and its gradients: the same bits on one thread and on three', () => {
    const x = tf.tensor4d(rand(3 * 9 * 8 * 40), [3, 9, 8, 40]);
    const w = tf.tensor4d(rand(3 * 3 * 40 * 1), [3, 3, 40, 1]);
    const dy = tf.tensor4d(rand(3 * 5 * 4 * 40), [3, 5, 4, 40]);
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), dy));
    const runs = [1, 3].map((threads) => {
      setNativeThreads(threads, 1);
      const y = tf.depthwiseConv2d(x, w, 2, 'same');
      const [dx, dw] = tf.grads(f)([x, w]);
      const bits = [y, dx!, dw!].map((t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer));
      tf.dispose([y, dx!, dw!]);
      setNativeThreads(1, 1 << 16);
      return bits;
    });
    runs[0]!.forEach((b, i) =>
      expect(
        b.findIndex((v, j) => v !== runs[1]![i]![j]),
        `output ${i}`,
      ).toBe(-1),
    );
    tf.dispose([x, w, dy]);
  });

  it('the thin convolution and the strided copies: the same bits on one thread and on three, and the values of the stock kernels', () => {
    // an RGB stem (3 channels, 20 out: a 16-channel block and a tail) and 1x1 / 3x3 stride-2 convolutions
    // whose gradients take the strided copies and the padded-width copy (buffers over 64 KB)
    const cases: [number[], number[], number, 'same' | 'valid' | number][] = [
      [[3, 33, 30, 3], [3, 3, 3, 20], 2, 'same'],
      [[2, 19, 26, 1], [5, 5, 1, 16], 1, 2],
      [[2, 64, 64, 16], [1, 1, 16, 16], 2, 'valid'],
      [[2, 40, 40, 16], [3, 3, 16, 24], 2, 'same'],
    ];
    // The GEMMs run unsplit here: the row split's single-threaded BLAS calls on blocks of rows may
    // take other OpenBLAS kernels than one call on all rows (it picks them by size), so its bits
    // depend on the threads; this test is about the copies and the direct convolution.
    const split = gemmRowSplit();
    setGemmRowSplit(null);
    for (const [xs, ws, s, pad] of cases) {
      const x = tf.tensor4d(rand(xs.reduce((a, b) => a * b)), xs as [number, number, number, number]);
      const w = tf.tensor4d(rand(ws.reduce((a, b) => a * b)), ws as [number, number, number, number]);
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.sin(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad))) as tf.Scalar;
      const run = () => {
        const y = tf.conv2d(x, w, s, pad);
        const [dx, dw] = tf.grads(f)([x, w]);
        const out = [y, dx!, dw!].map((t) => Float32Array.from(t.dataSync()));
        tf.dispose([y, dx!, dw!]);
        return out;
      };
      const runs = [1, 3].map((threads) => {
        setNativeThreads(threads, 1);
        const r = run();
        setNativeThreads(1, 1 << 16);
        return r;
      });
      const was = setNativeKernels(false);
      const stock = run();
      setNativeKernels(was);
      runs[0]!.forEach((a, i) => {
        const b = runs[1]![i]!;
        expect(
          a.findIndex((v, j) => !Object.is(v, b[j])),
          `[${xs}] * [${ws}]: output ${i}, 1 vs 3 threads`,
        ).toBe(-1);
        const ref = stock[i]!;
        const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
        const err = a.reduce((m, v, j) => Math.max(m, Math.abs(v - ref[j]!)), 0);
        expect(err / scale, `[${xs}] * [${ws}]: output ${i} against the stock kernels`).toBeLessThan(1e-5);
      });
      tf.dispose([x, w]);
    }
    setGemmRowSplit(split, { force: true });
  });

  type GemmArgs = [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  /**
   * For each of the four transpose pairs: random A [M,K], B [K,N] and `outs` + 1 copies of a random
   * C in wasm memory, C copy 0 updated by one BLAS call (C = 0.5·op(A)·op(B) + 0.25·C); `body` gets
   * the other copies, with the GEMM's arguments on addresses for a copy (as the native GEMMs take them).
   */
  function gemmCases(
    sgemm: NonNullable<ReturnType<typeof loadBlas>>['sgemm'],
    [M, N, K]: [number, number, number],
    outs: number,
    body: (c: { label: string; c0: Float32Array; cs: tf.Tensor[]; args: (c: tf.Tensor) => GemmArgs }) => void,
  ): void {
    const backend = tf.backend();
    const mem = () => new Float32Array(wasmMemoryOf(backend)!.buffer);
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as [boolean, boolean][]) {
      const a = tf.tensor1d(rand(M * K));
      const b = tf.tensor1d(rand(K * N));
      const c0 = rand(M * N);
      const cs = Array.from({ length: outs + 1 }, () => tf.tensor1d(c0));
      const [lda, ldb] = [ta ? M : K, tb ? K : N];
      const at = (t: tf.Tensor) => addressOf(backend, t) / 4;
      const view = (t: tf.Tensor, n: number) => mem().subarray(at(t), at(t) + n);
      sgemm(ta, tb, M, N, K, 0.5, view(a, M * K), lda, view(b, K * N), ldb, 0.25, view(cs[0]!, M * N), N);
      const addr = (t: tf.Tensor) =>
        Number(koffiAddress(wasmMemoryOf(backend)!.buffer)) + addressOf(backend, t);
      const args = (c: tf.Tensor): GemmArgs => [
        ta ? 1 : 0,
        tb ? 1 : 0,
        M,
        N,
        K,
        0.5,
        addr(a),
        lda,
        addr(b),
        ldb,
        0.25,
        addr(c),
        N,
      ];
      body({ label: `transA ${ta} transB ${tb}`, c0, cs, args });
      tf.dispose([a, b, ...cs]);
    }
  }

  it('the row-split GEMM gives the bits of one BLAS call (all four transposes, 3 parts)', () => {
    const blas = loadBlas(1);
    if (!blas) return; // no BLAS: the engine never splits
    const rows = loadNativeKernels(1, blas.library)!.sgemmRows!;
    expect(rows).not.toBeNull();
    gemmCases(blas.sgemm, [301, 45, 70], 1, ({ label, c0, cs, args }) => {
      setNativeThreads(3, 1);
      rows(...args(cs[1]!), 3);
      setNativeThreads(1, 1 << 16);
      const [w, g] = cs.map((t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer));
      expect(
        w!.findIndex((v, i) => v !== g![i]),
        label,
      ).toBe(-1);
      expect(w!.some((v, i) => v !== new Uint32Array(c0.buffer)[i])).toBe(true); // it computed something
    });
  });

  it('the K-split GEMM: the same bits on one thread and on three, the values of one BLAS call (all four transposes)', () => {
    const blas = loadBlas(1);
    if (!blas) return; // no BLAS: the engine never splits
    const sumK = loadNativeKernels(1, blas.library)!.sgemmSumK!;
    expect(sumK).not.toBeNull();
    const piece = 96; // K 1000: 11 pieces, the last one short
    gemmCases(blas.sgemm, [13, 21, 1000], 2, ({ label, cs, args }) => {
      [1, 3].forEach((threads, i) => {
        setNativeThreads(threads, 1);
        const ran = sumK(...args(cs[i + 1]!), piece);
        setNativeThreads(1, 1 << 16);
        expect(ran).toBe(1);
      });
      const [one, t1, t3] = cs.map((t) => Float32Array.from(t.dataSync()));
      expect(
        t1!.findIndex((v, i) => !Object.is(v, t3![i])),
        `${label}: 1 vs 3 threads`,
      ).toBe(-1);
      const scale = one!.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
      expect(Math.max(...t1!.map((v, i) => Math.abs(v - one![i]!))) / scale).toBeLessThan(1e-5);
    });
  });

  it('the kernels see the threads they are given, and native kernels are what the engine runs', () => {
    expect(setNativeThreads(3, 1)).toBe(3);
    expect(setNativeThreads(1, 1 << 16)).toBe(1);
    expect(nativeKernels(tf.backend())).toBe(native);
    const was = setNativeKernels(false);
    expect(nativeKernels(tf.backend())).toBeNull();
    setNativeKernels(was);
  });
});

// The kernel suite with every native kernel (the SIMD twins, depthwise gradients, Slice, PadV2,
// Maximum/Minimum) split over three threads, and every GEMM split by rows (the filter gradients' by
// K) where BLAS is there.
describe.skipIf(!available)('engine kernels with the native kernels split over three threads', () => {
  let restore = 1;
  beforeAll(async () => {
    await setupEngine('auto');
    expect(nativeKernels(tf.backend())).not.toBeNull();
    restore = setNativeThreads(3, 1);
    const blas = loadBlas(3);
    if (blas) {
      const lib = loadNativeKernels(3, blas.library)!;
      setGemmRowSplit(lib.sgemmRows, { force: true, minRows: 1, minWork: 0 });
      // and the filter gradients' K split (both on unless FACEMAE_GEMM_SPLIT=off)
      setGemmSumK(lib.sgemmSumK);
      ctx.gemmSumK = blas.sgemmSumK;
    }
  });
  afterAll(() => {
    setGemmRowSplit(null);
    setGemmSumK(null);
    ctx.gemmSumK = null;
    setNativeThreads(restore, 1 << 16);
  });
  kernelSuite();
});
