/**
 * The native kernels (kernels.ts holds their C source): compiled for the host CPU with the system C
 * compiler on first use, cached (FACEMAE_CACHE_DIR, else $XDG_CACHE_HOME/facemae or
 * ~/.cache/facemae, one file per source, compiler flags and CPU model; used only where no other user
 * can write it), loaded through koffi, and
 * called on tfjs-wasm's memory by address, as the BLAS is. They split every pass over the
 * engine's threads, which the wasm SIMD module cannot: tfjs-wasm's memory is not shared, so no
 * worker can run a kernel on it, and its threaded build is disabled under Node.
 *
 * Without a compiler (or with FACEMAE_NATIVE=off) the engine keeps the SIMD module and the stock
 * kernels, single-threaded; `nativeLoadError()` says why. FACEMAE_NATIVE_MARCH sets -march (default
 * `native`; `x86-64-v3` is the AVX2 code path).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { isWasm } from '../kernels/context.js';
import { GEMM_ADDRESS_ARGS, type SgemmRows, type SgemmSumK } from '../blas.js';
import { NATIVE_KERNELS_C } from './kernels.js';

/**
 * The kernels the SIMD module and the native library both provide, with the same signatures
 * (src/engine/simd re-exports this type): every argument named like a tensor is a byte offset in
 * the wasm backend's memory (0 = none).
 */
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

/** Every argument named like a tensor is a byte offset in the wasm memory (0 = none), as for the SIMD module. */
export interface NativeKernels extends SimdKernels {
  /** y = x > 0 ? x : α·x; α [C], or one value (C = 1: R is then the element count). */
  prelu(x: number, alpha: number, y: number, R: number, C: number): void;
  /** g: 15 int32 {N,H,W,C,OH,OW,KH,KW,sh,sw,dh,dw,pt,pl,M} in wasm memory. */
  depthwise_forward(x: number, w: number, out: number, g: number): void;
  /** 0 when the kernel could not allocate its scratch (nothing written), else 1. */
  depthwise_filter_grad(x: number, dy: number, out: number, g: number): number;
  depthwise_input_grad(dy: number, w: number, out: number, g: number): void;
  /** Direct convolution for few input channels: x [N,H,W,C], w [KH,KW,C,CO]; g as depthwise, with CO last. */
  conv_thin(x: number, w: number, out: number, g: number): void;
  /** g: 12 int32 {x shape[4], begin[4], y shape[4]}; 4-byte elements. */
  slice4(x: number, y: number, g: number): void;
  /** q, k, v, o [B, T, H·d]: o = softmax(s·Q·Kᵀ)·V per item and head. */
  attention(
    q: number,
    k: number,
    v: number,
    o: number,
    B: number,
    T: number,
    D: number,
    H: number,
    scale: number,
  ): void;
  /** Its gradient (P recomputed): dq, dk, dv [B, T, H·d]. */
  attention_grad(
    dy: number,
    q: number,
    k: number,
    v: number,
    dq: number,
    dk: number,
    dv: number,
    B: number,
    T: number,
    D: number,
    H: number,
    scale: number,
  ): void;
  /** g: 8 int32 {shape[4], flip[4]}; 4-byte elements. */
  reverse4(x: number, y: number, g: number): void;
  /** g: 12 int32 {x shape[4], before[4], y shape[4]}; float32; `v` outside x. */
  pad4(x: number, y: number, g: number, v: number): void;
  /**
   * y = a op b over n elements; op 0 max, 1 min, 2 div, 3 add, 4 sub, 5 mul; mode 0 same shape,
   * 1 a one value, 2 b one value, 3 a one row of C repeated, 4 b one row of C repeated.
   */
  binary(op: number, a: number, b: number, y: number, n: number, mode: number, C: number): void;
  /** y = max(x, 0) (NaN kept). */
  relu(x: number, y: number, n: number): void;
  /** y [R,C] in place: act(y + b); act 0 none, 1 ReLU, 2 PReLU (alpha [C], or one value when nalpha = 1). */
  bias_act(
    y: number,
    b: number,
    alpha: number,
    R: number,
    C: number,
    hasBias: number,
    act: number,
    nalpha: number,
  ): void;
}

export const BINARY_OPS = { max: 0, min: 1, div: 2, add: 3, sub: 4, mul: 5 } as const;

/** Box copies on JS arrays or views of wasm memory by address (the convolutions' scratch is outside wasm memory). */
export interface NativeCopies {
  /** y = x placed at `before` in a box of `v` (g: {x shape[4], before[4], y shape[4]}); false: not run (small buffers). */
  pad4(x: Float32Array, y: Float32Array, g: Int32Array, v: number): boolean;
  /** y = the box of x at `begin` (g: {x shape[4], begin[4], y shape[4]}); false: not run. */
  slice4(x: Float32Array, y: Float32Array, g: Int32Array): boolean;
  /** dx from the strided input gradient's phase buffers (g: {nb,H,W,C,PH,PW,s,pt,pl}); false: not run. */
  phaseGather(dp: Float32Array, dx: Float32Array, g: Int32Array): boolean;
  /**
   * g: {N,H,W,C,OH,OW,sh,sw}. Gather: y [N,OH,OW,C] = x [N,H,W,C] at (oh·sh, ow·sw); scatter: y
   * [N,H,W,C] = x [N,OH,OW,C] at those pixels, zeros elsewhere. false: not run.
   */
  strided(x: Float32Array, y: Float32Array, g: Int32Array, scatter: boolean): boolean;
}

interface Library {
  threads: number;
  copies: NativeCopies;
  /** Row-split GEMM on addresses; null when the BLAS symbol was not found. */
  sgemmRows: SgemmRows | null;
  /** GEMM on addresses with K cut into fixed pieces over the threads; null while sgemmRows is (it needs the same BLAS). */
  readonly sgemmSumK: SgemmSumK | null;
  /** Points the row-split GEMM at a CBLAS library; returns it, or null when that fails. */
  useBlas(library: string): SgemmRows | null;
  call: Record<string, (...args: number[]) => number>;
  setThreads(n: number, split: number): number;
  addressOf(buf: ArrayBufferLike): number;
  description: string;
}

/** Return types other than void. */
const RETURNS: Partial<Record<keyof NativeKernels, string>> = {
  sum_squares: 'double',
  depthwise_filter_grad: 'int',
};

const SIGNATURES: Record<keyof NativeKernels, string[]> = {
  gelu: ['uint32_t', 'uint32_t', 'int'],
  gelu_grad: ['uint32_t', 'uint32_t', 'uint32_t', 'int'],
  layernorm: ['uint32_t', 'uint32_t', 'uint32_t', 'uint32_t', 'uint32_t', 'uint32_t', 'int', 'int', 'float'],
  layernorm_grad: [...Array<string>(8).fill('uint32_t'), 'int', 'int'],
  channel_sums: ['uint32_t', 'uint32_t', 'uint32_t', 'int', 'int', 'uint32_t', 'uint32_t', 'uint32_t'],
  channel_affine: [...Array<string>(6).fill('uint32_t'), 'int', 'int'],
  sum_squares: ['uint32_t', 'int'],
  prelu: ['uint32_t', 'uint32_t', 'uint32_t', 'int', 'int'],
  prelu_grad_x: ['uint32_t', 'uint32_t', 'uint32_t', 'uint32_t', 'int', 'int'],
  im2col: ['uint32_t', 'uint32_t', 'int', 'int', 'uint32_t'],
  prelu_grad_alpha: ['uint32_t', 'uint32_t', 'int', 'int', 'uint32_t', 'uint32_t'],
  adamw: [...Array<string>(5).fill('uint32_t'), 'int', ...Array<string>(7).fill('float')],
  sgd: [...Array<string>(4).fill('uint32_t'), 'int', ...Array<string>(4).fill('float')],
  depthwise_forward: ['uint32_t', 'uint32_t', 'uint32_t', 'uint32_t'],
  depthwise_filter_grad: ['uint32_t', 'uint32_t', 'uint32_t', 'uint32_t'],
  depthwise_input_grad: ['uint32_t', 'uint32_t', 'uint32_t', 'uint32_t'],
  conv_thin: ['uint32_t', 'uint32_t', 'uint32_t', 'uint32_t'],
  slice4: ['uint32_t', 'uint32_t', 'uint32_t'],
  pad4: ['uint32_t', 'uint32_t', 'uint32_t', 'float'],
  reverse4: ['uint32_t', 'uint32_t', 'uint32_t'],
  attention: [...Array<string>(4).fill('uint32_t'), 'int', 'int', 'int', 'int', 'float'],
  attention_grad: [...Array<string>(7).fill('uint32_t'), 'int', 'int', 'int', 'int', 'float'],
  binary: ['int', 'uint32_t', 'uint32_t', 'uint32_t', 'int', 'int', 'int'],
  relu: ['uint32_t', 'uint32_t', 'int'],
  bias_act: ['uint32_t', 'uint32_t', 'uint32_t', ...Array<string>(5).fill('int')],
};

let lib: Library | null | undefined;
let loadError = '';
let enabled = process.env.FACEMAE_NATIVE !== 'off';

function cacheDir(): string {
  if (process.env.FACEMAE_CACHE_DIR) return process.env.FACEMAE_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'facemae');
}

/**
 * Refuses a cache entry another user could have written: the library found there is loaded into
 * this process and run, so a folder or file writable by others (or owned by someone else) would let
 * them plant code. POSIX only; a symlink is judged by what it points to.
 */
function checkPrivate(p: string): void {
  if (typeof process.getuid !== 'function') return;
  const st = fs.statSync(p);
  if (st.uid !== process.getuid())
    throw new Error(`the kernel cache ${p} belongs to another user (uid ${st.uid}); set FACEMAE_CACHE_DIR`);
  if ((st.mode & 0o022) !== 0)
    throw new Error(
      `the kernel cache ${p} is writable by others (mode ${(st.mode & 0o777).toString(8)}); set FACEMAE_CACHE_DIR or chmod go-w it`,
    );
}

/** The compiled library's path, compiling it first when the cache lacks it; throws with the compiler's message. */
function compiled(): string {
  const cc = process.env.CC ?? 'cc';
  const march = process.env.FACEMAE_NATIVE_MARCH ?? 'native';
  const flags = [
    '-O3',
    ...(process.arch === 'x64' || march !== 'native' ? [`-march=${march}`] : ['-mcpu=native']),
    '-ffp-contract=off', // no fused multiply-adds: the SIMD module's results bit for bit
    '-fno-math-errno',
    // FP ops raise no traps here, so the compiler may compute both sides of a select: without it,
    // AVX2 (no masked ops) leaves PReLU's x > 0 ? x : α·x scalar and branchy, 15× slower
    '-fno-trapping-math',
    '-fPIC',
    process.platform === 'darwin' ? '-dynamiclib' : '-shared',
    '-pthread',
  ];
  const key = crypto
    .createHash('sha256')
    .update([NATIVE_KERNELS_C, cc, ...flags, os.cpus()[0]?.model ?? '', process.arch].join('\0'))
    .digest('hex')
    .slice(0, 16);
  const dir = cacheDir();
  const file = path.join(dir, `kernels-${key}${process.platform === 'darwin' ? '.dylib' : '.so'}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkPrivate(dir);
  if (fs.existsSync(file)) {
    checkPrivate(file);
    return file;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  const src = `${tmp}.c`;
  fs.writeFileSync(src, NATIVE_KERNELS_C);
  try {
    const r = spawnSync(cc, [...flags, '-o', tmp, src, ...(process.platform === 'darwin' ? [] : ['-ldl'])], {
      encoding: 'utf8',
    });
    if (r.error) throw new Error(`${cc} could not run (${r.error.message})`);
    if (r.status !== 0)
      throw new Error(`${cc} failed: ${(r.stderr ?? '').trim().split('\n').slice(0, 3).join(' | ')}`);
    fs.renameSync(tmp, file); // atomic: a concurrent process sees no file or a whole one
  } finally {
    fs.rmSync(src, { force: true });
    fs.rmSync(tmp, { force: true });
  }
  return file;
}

/**
 * Loads (compiling on first use) the native kernels with `threads` threads; `blasLibrary` is the
 * CBLAS the engine loaded (for the row-split GEMM). null when unavailable (see `nativeLoadError()`).
 */
export function loadNativeKernels(threads: number, blasLibrary: string | null): Library | null {
  if (lib !== undefined) {
    if (lib) {
      lib.threads = lib.setThreads(threads, -1);
      if (blasLibrary && !lib.sgemmRows) lib.sgemmRows = lib.useBlas(blasLibrary);
    }
    return lib;
  }
  lib = null;
  if (process.env.FACEMAE_NATIVE === 'off') {
    loadError = 'FACEMAE_NATIVE=off';
    return null;
  }
  let koffi: typeof import('koffi');
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch (e) {
    loadError = `koffi could not be loaded (${(e as Error).message})`;
    return null;
  }
  try {
    const file = compiled();
    const so = koffi.load(file);
    const call: Library['call'] = {};
    for (const [name, args] of Object.entries(SIGNATURES)) {
      const ret = RETURNS[name as keyof NativeKernels] ?? 'void';
      call[name] = so.func(`fm_${name}`, ret, ['intptr_t', ...args]) as (...a: number[]) => number;
    }
    const setN = so.func('fm_set_threads', 'int', ['int', 'int']) as (n: number, s: number) => number;
    const useBlas = so.func('fm_use_blas', 'int', ['str']) as (p: string) => number;
    const rows = so.func('fm_sgemm_rows', 'void', [...GEMM_ADDRESS_ARGS, 'int']) as SgemmRows;
    const sumK = so.func('fm_sgemm_ksum', 'int', [...GEMM_ADDRESS_ARGS, 'int']) as SgemmSumK;
    const bases = new WeakMap<ArrayBufferLike, number>();
    const addressOf = (buf: ArrayBufferLike): number => {
      let b = bases.get(buf);
      if (b === undefined) {
        b = Number(koffi.address(buf));
        bases.set(buf, b);
      }
      return b;
    };
    // a view's address, or 0 for a small buffer (V8 may keep it on its heap and move it)
    const at = (v: Float32Array): number =>
      v.buffer.byteLength >= 1 << 16 ? addressOf(v.buffer) + v.byteOffset : 0;
    const pad4At = so.func('fm_pad4_at', 'void', ['intptr_t', 'intptr_t', 'int *', 'float']) as (
      ...a: unknown[]
    ) => void;
    const slice4At = so.func('fm_slice4_at', 'void', ['intptr_t', 'intptr_t', 'int *']) as (
      ...a: unknown[]
    ) => void;
    const phaseAt = so.func('fm_phase_gather_at', 'void', ['intptr_t', 'intptr_t', 'int *']) as (
      ...a: unknown[]
    ) => void;
    const stridedAt = so.func('fm_strided_at', 'void', ['intptr_t', 'intptr_t', 'int *', 'int']) as (
      ...a: unknown[]
    ) => void;
    const copies: NativeCopies = {
      pad4(x, y, g, v) {
        const [px, py] = [at(x), at(y)];
        if (!px || !py) return false;
        pad4At(px, py, g, v);
        return true;
      },
      slice4(x, y, g) {
        const [px, py] = [at(x), at(y)];
        if (!px || !py) return false;
        slice4At(px, py, g);
        return true;
      },
      phaseGather(dp, dx, g) {
        const [pd, px] = [at(dp), at(dx)];
        if (!pd || !px) return false;
        phaseAt(pd, px, g);
        return true;
      },
      strided(x, y, g, scatter) {
        const [px, py] = [at(x), at(y)];
        if (!px || !py) return false;
        stridedAt(px, py, g, scatter ? 1 : 0);
        return true;
      },
    };
    const blasOk = blasLibrary !== null && useBlas(blasLibrary) !== 0;
    lib = {
      copies,
      threads: setN(threads, -1),
      sgemmRows: blasOk ? rows : null,
      get sgemmSumK() {
        return this.sgemmRows ? sumK : null;
      },
      useBlas: (library) => (useBlas(library) ? rows : null),
      call,
      setThreads: setN,
      addressOf,
      description: `${path.basename(file)} (-march=${process.env.FACEMAE_NATIVE_MARCH ?? 'native'})`,
    };
  } catch (e) {
    loadError = `native kernels unavailable: ${(e as Error).message}`;
    lib = null;
  }
  return lib;
}

/** The native box copies when the native kernels are on, else null. */
export function nativeCopies(): NativeCopies | null {
  return nativeLibrary()?.copies ?? null;
}

/** Why `loadNativeKernels` returned null. */
export function nativeLoadError(): string {
  return loadError;
}

/** The loaded library when native kernels are on, else null. */
export function nativeLibrary(): Library | null {
  return enabled && lib ? lib : null;
}

/** Turns the native kernels on or off (tests and benches compare both paths); returns the old state. */
export function setNativeKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/**
 * Sets the threads a native kernel may use and, when `minSplit` is given, the work (in floats)
 * below which it stays on one thread (tests use 1 to split every call); returns the threads in use.
 */
export function setNativeThreads(threads: number, minSplit = -1): number {
  if (!lib) return 1;
  lib.threads = lib.setThreads(threads, minSplit);
  return lib.threads;
}

let boundMemory: WebAssembly.Memory | null = null;
let bound: NativeKernels | null = null;

/** The native kernels on `memory` (the wasm backend's), or null when they are off or not loaded. */
export function nativeKernelsOn(memory: WebAssembly.Memory): NativeKernels | null {
  const l = nativeLibrary();
  if (!l) return null;
  if (memory !== boundMemory || !bound) {
    boundMemory = memory;
    let buf: ArrayBufferLike | null = null;
    let base = 0;
    // the heap's address: a grown memory gets a new buffer (possibly moved)
    const at = (): number => {
      const b = memory.buffer;
      if (b !== buf) {
        buf = b;
        base = l.addressOf(b);
      }
      return base;
    };
    const k = {} as Record<string, (...a: number[]) => number>;
    for (const name of Object.keys(SIGNATURES)) {
      const f = l.call[name]!;
      k[name] = (...a: number[]) => f(at(), ...a);
    }
    bound = k as unknown as NativeKernels;
  }
  return bound;
}

/** The wasm backend's memory (the one the SIMD module imports), or null on other backends. */
export function wasmMemoryOf(backend: tf.KernelBackend): WebAssembly.Memory | null {
  if (!isWasm(backend)) return null;
  const mem = (backend.wasm as unknown as { asm?: { memory?: WebAssembly.Memory } }).asm?.memory;
  return mem instanceof WebAssembly.Memory ? mem : null;
}

/** The native kernels on `backend`'s memory; null off wasm, when off, or when not loaded. */
export function nativeKernels(backend: tf.KernelBackend): NativeKernels | null {
  const mem = nativeLibrary() ? wasmMemoryOf(backend) : null;
  return mem ? nativeKernelsOn(mem) : null;
}
