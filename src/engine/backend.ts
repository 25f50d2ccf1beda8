/**
 * The one place the tensor backend is set up. Model code uses plain tfjs ops; this module
 * picks the backend and registers the project's kernels (see docs/PERFORMANCE.md): native BLAS
 * GEMM (OpenBLAS/Accelerate through koffi) for every matmul-shaped kernel, plus the training
 * kernels stock tfjs-wasm lacks.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { blasLoadError, gemmSplitOn, jsGemm, loadBlas, setGemmRowSplit, setGemmSumK } from './blas.js';
import { loadNativeKernels, nativeLoadError } from './native/index.js';
import { registerEngineKernels } from './kernels/index.js';
import { enableKernelProfile } from './profile.js';
import { ensureGradients } from './gradients.js';
import { installGradientMemorySaver, setGradientMemorySaver } from './grad-memory.js';
import { installPreluGradient } from './kernels/prelu-grad.js';
import { installBatchNormGradient } from './kernels/batchnorm-grad.js';
import { installBatchNormTrain } from './kernels/batchnorm-train.js';
import { installLayerNorm } from './kernels/layernorm.js';
import { installGelu } from './kernels/gelu.js';
import { installLinear } from './kernels/linear.js';
import { installAttention } from './kernels/attention.js';
import { installResidualAdd } from './kernels/residual.js';
import { installReduceGradients } from './kernels/reduce-grad.js';

export type BackendName = 'wasm' | 'cpu';

export interface EngineOptions {
  /** 'wasm' (default, fast) or 'cpu' (plain JS reference, used by gradient tests). */
  backend?: BackendName;
  /**
   * 'auto' (default): use the system BLAS when it loads; 'off': JS/stock kernels only.
   * The environment variable FACEMAE_BLAS=off forces 'off'.
   */
  blas?: 'auto' | 'off';
  /** BLAS threads; default: FACEMAE_THREADS or the number of cores. */
  threads?: number;
}

export interface EngineInfo {
  backend: BackendName;
  /** Loaded BLAS library, or null when the kernels use the JS fallback (or backend is cpu). */
  blas: string | null;
  /** OpenBLAS's kernel set when the BLAS is OpenBLAS (e.g. Haswell, Cooperlake), else null. */
  blasCore: string | null;
  threads: number;
  /**
   * The native kernels (src/engine/native: the SIMD module's kernels and more, on `nativeThreads`
   * threads) as the compiled library's name and -march, or why they are off.
   */
  native: { library: string; threads: number } | { off: string };
}

let current: Promise<EngineInfo> | undefined;
let currentKey: string | undefined;
let warned = false;

// tfjs's CPU backend prints "install our node backend (tfjs-node)" on its first tensor under
// Node. This engine runs wasm + native BLAS by design and keeps 'cpu' only as the gradient tests'
// reference, so that advice is noise: the CPU backend is created here, once, marked as already
// used. Only that message goes; every other tfjs warning still prints.
const cpuBackend = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
if (cpuBackend) cpuBackend.firstUse = false;

function blasMode(opts: EngineOptions): 'auto' | 'off' {
  const env = process.env.FACEMAE_BLAS?.toLowerCase();
  if (env === 'off' || env === '0' || env === 'false') return 'off';
  return opts.blas ?? 'auto';
}

/** FACEMAE_THREADS, else the number of cores: the engine's threads, and the ONNX embedders' workers. */
export function defaultThreads(): number {
  const env = Number(process.env.FACEMAE_THREADS);
  return Number.isInteger(env) && env > 0 ? env : os.availableParallelism();
}

function threadsOf(opts: EngineOptions): number {
  return opts.threads && opts.threads > 0 ? opts.threads : defaultThreads();
}

/** Idempotent: the first call sets the backend up, later calls with the same options return it. */
export function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  const backend = opts.backend ?? 'wasm';
  const mode = blasMode(opts);
  const threads = threadsOf(opts);
  const key = `${backend}/${mode}/${threads}`;
  if (current && currentKey === key) return current;
  currentKey = key;
  current = (async () => {
    if (backend === 'wasm') {
      const require = createRequire(import.meta.url);
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      setWasmPaths(path.join(dir, 'dist') + path.sep);
    }
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`tensor backend "${backend}" failed to initialise`);
    await tf.ready();
    await ensureGradients();
    installPreluGradient(); // these before the memory saver wraps every gradient
    installBatchNormGradient();
    installBatchNormTrain();
    installLayerNorm();
    installGelu();
    installLinear();
    installAttention();
    installResidualAdd();
    installReduceGradients();
    installGradientMemorySaver();
    setGradientMemorySaver(process.env.FACEMAE_GRAD_FREE !== 'off');
    if (backend !== 'wasm')
      return { backend, blas: null, blasCore: null, threads: 1, native: { off: 'not on the wasm backend' } };
    const blas = mode === 'auto' ? loadBlas(threads) : null;
    if (mode === 'auto' && !blas && !warned) {
      warned = true;
      process.stderr.write(
        `facemae: ${blasLoadError()}; falling back to JS matrix products, about 10x slower ` +
          `(measured: the demo's first training step took 355 s instead of 36 s). ` +
          `Fix: ${process.env.FACEMAE_BLAS_LIB ? 'point FACEMAE_BLAS_LIB at a CBLAS library that exists, or unset it and use the system one: ' : ''}${
            process.platform === 'darwin'
              ? 'brew install openblas'
              : 'sudo apt-get install libopenblas0-pthread (Debian/Ubuntu), or run bash scripts/setup.sh in a clone'
          }.\n`,
      );
    }
    const native = loadNativeKernels(threads, blas?.library ?? null);
    setGemmRowSplit(native?.sgemmRows ?? null);
    // the filter gradients' K split goes with the row split (FACEMAE_GEMM_SPLIT=off: neither)
    const sumK = gemmSplitOn() ? (native?.sgemmSumK ?? null) : null;
    setGemmSumK(sumK);
    registerEngineKernels(blas ? blas.sgemm : jsGemm, Boolean(blas), blas && sumK ? blas.sgemmSumK : null);
    if (process.env.FACEMAE_PROFILE === '1') enableKernelProfile('wasm');
    return {
      backend,
      blas: blas?.library ?? null,
      blasCore: blas?.core ?? null,
      threads: blas ? threads : 1,
      native: native ? { library: native.description, threads: native.threads } : { off: nativeLoadError() },
    };
  })();
  return current;
}

export { tf };
