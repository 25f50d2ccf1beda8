export { initEngine, tf, type EngineInfo, type EngineOptions, type BackendName } from './backend.js';
export { loadBlas, jsGemm, blasLoadError, gemmThreads, type Blas, type Gemm } from './blas.js';
export { ENGINE_KERNELS, batchNormTrain, collapseTranspose, releaseConvScratch } from './kernels/index.js';
export {
  enableKernelProfile,
  kernelProfile,
  resetKernelProfile,
  formatKernelProfile,
  type KernelStat,
} from './profile.js';
export { ensureGradients } from './gradients.js';
export { installGradientMemorySaver, setGradientMemorySaver } from './grad-memory.js';
export { setSimdKernels, simdKernels } from './simd/index.js';
