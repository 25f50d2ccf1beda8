/**
 * Native single-precision GEMM. Loads the system OpenBLAS (Linux) or Accelerate (macOS) through
 * koffi and calls `cblas_sgemm` directly on Float32Array views (plain arrays or wasm memory: koffi
 * passes the pointer, no copy). When no library is found, `jsGemm` is the portable fallback.
 */
import os from 'node:os';
import { createRequire } from 'node:module';
import { FaceMaeError } from '../core/errors.js';

/**
 * Row-major C = alpha·op(A)·op(B) + beta·C with op(A) [M,K], op(B) [K,N], C [M,N].
 * lda/ldb/ldc are row strides of A, B, C as stored (A is [K,M] when transA).
 */
export type Gemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

export interface Blas {
  /** Library file that was loaded. */
  library: string;
  threads: number;
  /**
   * true (default): each GEMM uses one thread or `threads` by its shape (`gemmThreads`); false:
   * every GEMM uses `threads` (set by FACEMAE_GEMM_THREADS=fixed, or by a bench that compares).
   */
  perShapeThreads: boolean;
  sgemm: Gemm;
  /**
   * The same product with K cut into pieces of SUM_K_ROWS, each one single-threaded call on the
   * native threads, added in order (`setGemmSumK`); the plain sgemm without the native kernels or
   * for views of small buffers. For op(A)ᵀ·B with a small [m,n] and a long K (filter gradients).
   */
  sgemmSumK: Gemm;
  /** OpenBLAS's kernel set (`openblas_get_corename`, e.g. Haswell = AVX2, SkylakeX/Cooperlake = AVX-512; OPENBLAS_CORETYPE overrides it); null for other libraries. */
  core: string | null;
}

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

function candidates(): string[] {
  // an explicit library (a custom OpenBLAS/MKL build with the CBLAS interface) is the only one tried
  const explicit = process.env.FACEMAE_BLAS_LIB;
  if (explicit) return [explicit];
  if (process.platform === 'darwin') {
    return [
      '/System/Library/Frameworks/Accelerate.framework/Accelerate',
      '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
      '/usr/local/opt/openblas/lib/libopenblas.dylib',
    ];
  }
  if (process.platform === 'win32') return ['libopenblas.dll', 'openblas.dll'];
  return [
    'libopenblas.so.0',
    '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0',
    '/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0',
    '/usr/lib/x86_64-linux-gnu/libopenblas.so.0',
    '/usr/lib64/libopenblas.so.0',
    '/usr/lib64/libopenblasp.so.0',
    'libopenblasp.so.0',
    'libopenblas.so',
  ];
}

let cached: Blas | null | undefined;
let loadError = '';

/** Loads the native BLAS once; null when none could be loaded (see `blasLoadError()`). */
export function loadBlas(threads = os.availableParallelism()): Blas | null {
  if (cached !== undefined) {
    if (cached) cached.threads = setThreads(threads) ?? cached.threads;
    return cached;
  }
  cached = null;
  let koffi: typeof import('koffi');
  try {
    const require = createRequire(import.meta.url);
    koffi = require('koffi') as typeof import('koffi');
  } catch (e) {
    loadError = `koffi could not be loaded (${(e as Error).message})`;
    return null;
  }
  const errors: string[] = [];
  for (const file of candidates()) {
    try {
      const lib = koffi.load(file);
      const raw = lib.func(
        'void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int)',
      );
      // The same function with A, B, C as addresses (a pointer and an intptr_t pass alike on the
      // 64-bit ABIs): koffi spends ~4 µs turning each subarray view into a pointer, more than a
      // whole tiny attention GEMM takes (~1.5 µs), and the MAE step makes ~20,000 of them.
      const rawAt = lib.func('cblas_sgemm', 'void', ['int', ...GEMM_ADDRESS_ARGS]);
      const addressOf = addressCache(koffi);
      let setN: ((n: number) => void) | undefined;
      try {
        setN = lib.func('void openblas_set_num_threads(int)') as (n: number) => void;
      } catch {
        setN = undefined; // Accelerate manages its own threads
      }
      setThreadsFn = setN;
      let core: string | null = null;
      try {
        core = (lib.func('const char* openblas_get_corename()') as () => string)();
      } catch {
        core = null; // not OpenBLAS
      }
      const sgemm: Gemm = (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
        if (m === 0 || n === 0) return;
        const pa = addressOf(a);
        const pb = pa ? addressOf(b) : 0;
        const pc = pb ? addressOf(c) : 0;
        if (
          pc &&
          rowSplit &&
          maxThreads > 1 &&
          m >= rowSplitMin.rows * maxThreads &&
          m * n * k >= rowSplitMin.work
        ) {
          useThreads(1);
          rowSplit(ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, maxThreads);
          return;
        }
        useThreads(blas.perShapeThreads ? gemmThreads(m, n, k, maxThreads) : maxThreads);
        (pc ? rawAt : raw)(
          CBLAS_ROW_MAJOR,
          ta ? CBLAS_TRANS : CBLAS_NO_TRANS,
          tb ? CBLAS_TRANS : CBLAS_NO_TRANS,
          m,
          n,
          k,
          alpha,
          pc ? pa : a,
          Math.max(1, lda),
          pc ? pb : b,
          Math.max(1, ldb),
          beta,
          pc ? pc : c,
          Math.max(1, ldc),
        );
      };
      const sgemmSumK: Gemm = (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
        const pa = sumK && m > 0 && n > 0 ? addressOf(a) : 0;
        const pb = pa ? addressOf(b) : 0;
        const pc = pb ? addressOf(c) : 0;
        if (pc) {
          useThreads(1); // the pieces run concurrently, each on one BLAS thread
          const lda1 = Math.max(1, lda);
          const ldb1 = Math.max(1, ldb);
          if (sumK!(ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, pa, lda1, pb, ldb1, beta, pc, ldc, SUM_K_ROWS))
            return;
        }
        sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      };
      const blas: Blas = {
        library: file,
        threads: setThreads(threads) ?? threads,
        core,
        perShapeThreads: process.env.FACEMAE_GEMM_THREADS !== 'fixed',
        sgemm,
        sgemmSumK,
      };
      cached = blas;
      return blas;
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message.split('\n')[0] ?? ''}`);
    }
  }
  const explicit = process.env.FACEMAE_BLAS_LIB;
  loadError = explicit
    ? `FACEMAE_BLAS_LIB=${explicit} could not be loaded (${errors[0]?.replace(/^[^:]*: /, '') ?? 'no such library'})`
    : `no native BLAS found (tried ${errors.length} ${errors.length === 1 ? 'library' : 'libraries'})`;
  return null;
}

/** Buffers at least this big live outside V8's heap, so their memory never moves. */
const FIXED_BUFFER_BYTES = 1 << 16;

/**
 * The address of a view's first float, or 0 for a view into a small buffer (V8 may keep small
 * typed arrays on its heap and move them). A buffer's base is looked up once: wasm memory that
 * grows gets a new ArrayBuffer, hence a new entry.
 */
function addressCache(koffi: typeof import('koffi')): (v: Float32Array) => number {
  const bases = new WeakMap<ArrayBufferLike, number>();
  return (v) => {
    const buf = v.buffer;
    if (buf.byteLength < FIXED_BUFFER_BYTES) return 0;
    let base = bases.get(buf);
    if (base === undefined) {
      base = Number(koffi.address(buf));
      bases.set(buf, base);
    }
    return base + v.byteOffset;
  };
}

/**
 * A row-major GEMM's operands with A, B, C as addresses, as cblas_sgemm takes them after its order:
 * the koffi argument types and the matching parameters.
 */
export const GEMM_ADDRESS_ARGS = [
  'int', // transA (a CBLAS enum, or 0/1 for the native kernels)
  'int', // transB
  'int', // m
  'int', // n
  'int', // k
  'float', // alpha
  'intptr_t', // a
  'int', // lda
  'intptr_t', // b
  'int', // ldb
  'float', // beta
  'intptr_t', // c
  'int', // ldc
] as const;
type GemmAddressOperands = [
  ta: number,
  tb: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  beta: number,
  c: number,
  ldc: number,
];

/** Row-major GEMM on addresses split by rows over `parts` threads (the native kernels' pool). */
export type SgemmRows = (...args: [...GemmAddressOperands, parts: number]) => void;

let rowSplit: SgemmRows | null = null;

/** Row-major GEMM on addresses with K cut into pieces of `kpart` over the native threads; 0: not run. */
export type SgemmSumK = (...args: [...GemmAddressOperands, kpart: number]) => number;

/** Rows of K per piece of `Blas.sgemmSumK`: fixed, so the result does not depend on the threads. */
export const SUM_K_ROWS = 4096;

let sumK: SgemmSumK | null = null;

/**
 * Whether GEMMs split over the native kernels' threads (FACEMAE_GEMM_SPLIT: `rows`, the default, or
 * `off` for OpenBLAS's own threading). On by default since it measured faster on every step the
 * benches time (docs/PERFORMANCE.md); any other value is refused, naming it.
 */
export function gemmSplitOn(): boolean {
  const v = process.env.FACEMAE_GEMM_SPLIT;
  if (v === undefined || v === '' || v === 'rows') return true;
  if (v === 'off') return false;
  throw new FaceMaeError(`FACEMAE_GEMM_SPLIT must be "rows" or "off", got "${v}"`, 'E_CONFIG', {
    key: 'FACEMAE_GEMM_SPLIT',
  });
}

/** The native K-split the Blas's `sgemmSumK` runs on (null: it is the plain sgemm); the engine sets it unless FACEMAE_GEMM_SPLIT=off. */
export function setGemmSumK(fn: SgemmSumK | null): void {
  sumK = fn;
}
/** Rows per thread and multiply-adds from which a row split pays for its hand-off (a few µs). */
let rowSplitMin = { rows: 64, work: 1 << 20 };

/**
 * Unless FACEMAE_GEMM_SPLIT=off (or with `force`), with the native kernels loaded, a GEMM of ≥ 64 rows
 * per thread and ≥ 1 M multiply-adds runs as one single-threaded BLAS call per block of rows, on
 * the native kernels' threads, instead of by `gemmThreads` (one thread, or OpenBLAS's own
 * threading). `fn` null (or the variable `off`) keeps `gemmThreads`. Tests lower the thresholds.
 */
export function setGemmRowSplit(
  fn: SgemmRows | null,
  opts: { force?: boolean; minRows?: number; minWork?: number } = {},
): void {
  rowSplit = opts.force || gemmSplitOn() ? fn : null;
  rowSplitMin = { rows: opts.minRows ?? 64, work: opts.minWork ?? 1 << 20 };
}

/** The row split in use (null: none), so a caller can turn it off for a while and back. */
export function gemmRowSplit(): SgemmRows | null {
  return rowSplit;
}

let setThreadsFn: ((n: number) => void) | undefined;
/** The most threads a GEMM may use (the engine's `threads`). */
let maxThreads = 1;
/** Threads the library is set to now (-1: unknown), so a call changes it only when needed. */
let libThreads = -1;
function setThreads(n: number): number | undefined {
  maxThreads = Math.max(1, Math.floor(n));
  if (!setThreadsFn) return undefined;
  useThreads(maxThreads);
  return n;
}
/** Sets the BLAS to one thread before native kernels call it from several threads at once. */
export function singleThreadBlas(): void {
  useThreads(1);
}

function useThreads(n: number): void {
  if (n === libThreads || !setThreadsFn) return;
  setThreadsFn(n);
  libThreads = n;
}

/**
 * Threads for one row-major GEMM op(A) [M,K] · op(B) [K,N], given at most `max`.
 *
 * OpenBLAS threads every GEMM above a tiny size, and on two cores that loses on thin products:
 * the r-tiny recognizer's convolutions (16–32 channels, 3×3) ran 1.5–5× slower on two threads
 * than on one, the whole r-tiny step 27% slower (docs/PERFORMANCE.md, "GEMM threads"), while
 * the MAE's and r18-half's wide products gain 1.2–1.8×. So: several threads for a product big
 * in every direction (its two smaller dimensions multiply to ≥ 4,096, ≥ 4 M multiply-adds) or big
 * enough anyway (≥ 50 M multiply-adds); one thread otherwise. A row vector times a matrix (the
 * column sums of bias and BatchNorm gradients) gains from threads only when wide (N ≥ 64).
 */
export function gemmThreads(m: number, n: number, k: number, max: number): number {
  if (max <= 1) return 1;
  const work = m * n * k;
  if (m === 1 || n === 1) return Math.max(m, n) >= 64 && work >= 131_072 ? max : 1;
  const smallerTwo = work / Math.max(m, n, k); // the two smaller dimensions' product, without a sort per call
  return work >= 50_000_000 || (smallerTwo >= 4096 && work >= 4_000_000) ? max : 1;
}

/** Why `loadBlas()` returned null. */
export function blasLoadError(): string {
  return loadError;
}

/**
 * Portable GEMM in plain JS (i-k-j order, contiguous inner loop): the fallback when no native
 * BLAS is present. Slow (~1 GFLOP/s) but exact in the same way.
 */
export const jsGemm: Gemm = (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
  for (let i = 0; i < m; i++) {
    const ci = i * ldc;
    if (beta === 0) c.fill(0, ci, ci + n);
    else if (beta !== 1) for (let j = 0; j < n; j++) c[ci + j]! *= beta;
  }
  if (k === 0 || alpha === 0) return;
  // op(B) as rows of length n: materialise B transposed once when needed.
  let bb = b;
  let ldbb = ldb;
  if (tb) {
    bb = new Float32Array(k * n);
    for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) bb[p * n + j] = b[j * ldb + p]!;
    ldbb = n;
  }
  for (let i = 0; i < m; i++) {
    const ci = i * ldc;
    for (let p = 0; p < k; p++) {
      const av = alpha * (ta ? a[p * lda + i]! : a[i * lda + p]!);
      const bp = p * ldbb;
      for (let j = 0; j < n; j++) c[ci + j]! += av * bb[bp + j]!;
    }
  }
};
