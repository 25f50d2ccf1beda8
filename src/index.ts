/**
 * The public API: the library function behind each verb a user scripts (train, protect,
 * reconstruct, distort, privacy, verify, sweep, align, export), the loaders and configs they take,
 * the errors they throw, and the types of those. Engine kernels, models, the sweep's plan and
 * runner, the queue and the CLI stay internal.
 */
export type { RgbImage, FaceRecord, Embedder, OnProgress } from './types.js';
export { VERSION } from './version.js';

// errors, randomness, the engine every tensor-holding call needs
export { FaceMaeError } from './core/errors.js';
export { createRng, type Rng } from './core/rng.js';
export { initEngine, type BackendName, type EngineInfo, type EngineOptions } from './engine/backend.js';

// configs: defaults < file < overrides
export {
  loadConfigFile,
  mergeConfig,
  resolveConfig,
  type DeepPartial,
  type ResolveOptions,
} from './config/resolve.js';

// images and verification sets
export {
  listImageFolder,
  readImage,
  writeImage,
  type ImageFolder,
  type ReadImageOptions,
} from './data/image-folder.js';
export {
  readVerificationSet,
  type ReadVerificationOptions,
  type VerificationSet,
} from './data/verification-set.js';

// train-mae, train-fr
export {
  trainMae,
  DEFAULT_TRAIN_MAE,
  type TrainMaeConfig,
  type TrainMaeHooks,
  type TrainMaeResult,
  type StepLog,
} from './train/pretrain-mae.js';
export {
  trainFaceRecognizer,
  DEFAULT_TRAIN_FR,
  type TrainFrConfig,
  type TrainFrHooks,
  type TrainFrResult,
  type FrStepLog,
  type FrVerifyLog,
} from './train/train-face.js';

// protect: one pipeline for FaceMAE and every baseline (reconstruct, distort)
export {
  protectDataset,
  type ProtectionInput,
  type ProtectOptions,
  type ProtectResult,
} from './protect/protect-dataset.js';
export {
  reconstructDataset,
  type ReconstructOptions,
  type ReconstructResult,
} from './protect/reconstruct-dataset.js';
export {
  distortDataset,
  type DistortDatasetConfig,
  type DistortDatasetOptions,
  type DistortDatasetResult,
} from './protect/distort-dataset.js';
export { DISTORTION_METHODS, type DistortionMethod } from './protect/distortions.js';
export { parseProtection, readProtection, type Protection } from './protect/protection.js';
export { loadMaeRun, type LoadedMae } from './deploy/load-mae.js';

// privacy
export { auditRelease, type AuditOptions, type AuditResult } from './attack/audit.js';
export { attack, type AttackOptions, type AttackResult, type AttackerResult } from './attack/attack.js';
export { parseAttackerSuite, type AttackerSpec, type AttackKind } from './attack/suite.js';

// verify
export { createEmbedder, type EmbedderOptions } from './loaders/embedders.js';
export { verifyModel, type VerifyModelOptions } from './loaders/verify-model.js';
export { evaluateVerification, type VerificationResult } from './eval/verification.js';

// sweep, demo
export { DEFAULT_SWEEP_CONFIG, loadSweepConfig, type SweepConfig } from './sweep/config.js';
export { runSweep, DEMO_CONFIG, type SweepOptions, type SweepResult } from './sweep/sweep.js';
export type { ReportData, ReportRow } from './report/types.js';

// align
export {
  alignFolder,
  alignPhoto,
  createFaceDetector,
  DEFAULT_ALIGN_CONFIG,
  type AlignConfig,
  type AlignReport,
  type FaceDetector,
  type FaceDetection,
} from './align/index.js';

// export
export { exportMaeOnnx, type MaeOnnxOptions } from './export/onnx-mae.js';
export { exportCompactMae } from './deploy/load-mae.js';
