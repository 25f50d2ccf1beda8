/**
 * The public API: factories, their config types, and the library function behind each CLI verb.
 * Engine kernels, the sweep's step runner and other plumbing stay internal (import them from
 * their files inside this repository if you must).
 */
export type { RgbImage, FaceRecord, FaceBatch, FaceNet, Embedder, OnProgress } from './types.js';
export { VERSION } from './version.js';

// core, config, engine
export { createRng, type Rng, type RngState } from './core/rng.js';
export { FaceMaeError } from './core/errors.js';
export { resolveConfig, mergeConfig, type DeepPartial } from './config/resolve.js';
export { initEngine, tf, type BackendName, type EngineInfo, type EngineOptions } from './engine/backend.js';

// data
export {
  listImageFolder,
  readImage,
  writeImage,
  type ImageFolder,
  type ReadImageOptions,
} from './data/image-folder.js';
export { openFaceSource, folderSource } from './data/source.js';
export type { FaceSource } from './data/face-source.js';
export { createLoader, type Loader, type LoaderOptions } from './data/loader.js';
export {
  openRecordIO,
  packImageFolder,
  recordIoToFolder,
  type PackOptions,
  type PackResult,
  type RecordIOSource,
} from './data/recordio.js';
export { inspectDataset, formatSummary, type DatasetSummary, type InspectOptions } from './data/inspect.js';
export {
  readVerificationSet,
  type VerificationSet,
  type ReadVerificationOptions,
} from './data/verification-set.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  readCheckpointInfo,
  disposeCheckpoint,
  type CheckpointData,
} from './data/checkpoint.js';

// models and losses
export { createMae, type Mae, type MaeForward } from './models/mae/mae.js';
export {
  resolveMaeConfig,
  MAE_PRESETS,
  DEFAULT_MAE_SPEC,
  type MaeConfig,
  type MaeModelSpec,
  type MaePresetName,
} from './models/mae/config.js';
export { randomMasking, maskingFromNoise, type Masking } from './models/mae/masking.js';
export {
  createBackbone,
  BACKBONE_NAMES,
  type BackboneName,
  type BackboneOptions,
  type FaceBackbone,
} from './models/backbones/index.js';
export { createCosineClassifier, type CosineClassifier } from './models/heads/cosine-classifier.js';
export { maskedMse } from './losses/reconstruction.js';
export { irmLoss, irmFromEmbeddings, DEFAULT_IRM, type IrmConfig } from './losses/irm.js';
export { combinedMargin, type MarginConfig } from './losses/margin.js';
export { crossEntropy } from './losses/cross-entropy.js';

// training
export {
  runTrainer,
  type TrainerConfig,
  type TrainerHooks,
  type TrainerTask,
  type TrainerModel,
  type TrainerResult,
  type BaseStepLog,
  type RunLength,
} from './train/trainer.js';
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
export { createOptimizer, type OptimizerConfig, type TrainOptimizer } from './train/optimizer.js';
export { createSchedule, type Schedule, type ScheduleConfig } from './train/schedule.js';
export { evaluateMaskedLoss, type MaskedLossReport } from './train/eval-mae.js';

// deployment, export
export { loadMaeRun, exportCompactMae, type LoadedMae } from './deploy/load-mae.js';
export {
  reconstructDataset,
  type ReconstructOptions,
  type ReconstructResult,
} from './protect/reconstruct-dataset.js';
export { exportMaeOnnx } from './export/onnx-mae.js';

// models from files, evaluation
export { loadFaceNet, type LoadFaceNetOptions } from './loaders/face-net.js';
export { createEmbedder, faceNetEmbedder, type EmbedderOptions } from './loaders/embedders.js';
export { verifyModel, subsamplePairs, type VerifyModelOptions } from './loaders/verify-model.js';
export {
  evaluateVerification,
  kFoldAccuracy,
  tarAtFar,
  type VerificationResult,
  type VerificationSetLike,
} from './eval/verification.js';
export { retrievalMetrics, type RetrievalInput, type RetrievalMetrics } from './eval/retrieval.js';
export { embedImages } from './eval/embed.js';

// protection and privacy
export {
  applyDistortion,
  maskPatches,
  DISTORTION_METHODS,
  type DistortionMethod,
  type DistortionSpec,
} from './protect/distortions.js';
export {
  distortDataset,
  type DistortDatasetConfig,
  type DistortDatasetResult,
} from './protect/distort-dataset.js';
export { auditRelease, type AuditOptions, type AuditResult } from './attack/audit.js';
export { attack, type AttackOptions, type AttackResult, type AttackerResult } from './attack/attack.js';
export { parseAttackerSuite, type AttackerSpec, type AttackKind } from './attack/suite.js';
export { parseProtection, readProtection, type Protection } from './protect/protection.js';
export {
  protectDataset,
  type ProtectionInput,
  type ProtectOptions,
  type ProtectResult,
} from './protect/protect-dataset.js';

// the sweep and its report
export { DEFAULT_SWEEP_CONFIG, loadSweepConfig, type SweepConfig } from './sweep/config.js';
export { runSweep, DEMO_CONFIG, type SweepOptions, type SweepResult } from './sweep/sweep.js';
export { writeReport } from './report/write.js';
export type { ReportData, ReportRow } from './report/types.js';

// face alignment of raw photos
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

// the shard queue (reconstruct/distort over Redis workers) and the web app's server
export {
  runQueued,
  type QueuedRunOptions,
  type QueuedRunResult,
  type QueueProgress,
} from './queue/producer.js';
export { startShardWorker, type ShardWorker, type ShardWorkerOptions } from './queue/worker.js';
export { serveStatic, WEB_DIR, type ServeOptions, type StaticServer } from './serve/index.js';
