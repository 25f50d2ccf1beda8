/**
 * The schemas of the two trainers' configs (TrainMaeConfig, TrainFrConfig), shared by their
 * verbs (`train-mae`, `train-fr`) and the sweep's training sections. They live here rather than
 * in train/ because train/ imports config/; the verbs pass the parsed config to trainMae /
 * trainFaceRecognizer, so the compiler checks the inferred types against the library's, and
 * tests/config/schema.test.ts parses the library defaults, so no library key is missing.
 */
import { BACKBONE_NAMES } from '../models/backbones/index.js';
import { MAE_PRESETS, type MaePresetName } from '../models/mae/config.js';
import { num, posInt, nonNegInt, str, strList, z } from './schema.js';

/** Literal unions of the engine, loss and optimizer (types only there, so written once here). */
const BACKENDS = ['wasm', 'cpu'] as const;
const KL_DIRECTIONS = ['real-rec', 'rec-real', 'symmetric'] as const;

/** What every training loop reads (TrainerConfig). */
const TRAINER = {
  data: str(),
  out: str(),
  steps: posInt().nullable(),
  epochs: num().positive().nullable(),
  batchSize: posInt(),
  lr: num().nonnegative(),
  minLr: num().nonnegative(),
  warmupFraction: num().min(0).max(1),
  flip: z.boolean(),
  seed: nonNegInt(),
  logEvery: nonNegInt(),
  checkpointEvery: nonNegInt(),
  backend: z.enum(BACKENDS),
};

/** MaeModelSpec: a preset, or explicit sizes with preset null (resolveMaeConfig checks which). */
const MAE_MODEL = z.strictObject({
  preset: z
    .enum(Object.keys(MAE_PRESETS) as [MaePresetName, ...MaePresetName[]])
    .nullable()
    .optional(),
  imageSize: posInt().optional(),
  patchSize: posInt().optional(),
  dim: posInt().optional(),
  depth: posInt().optional(),
  heads: posInt().optional(),
  decoderDim: posInt().optional(),
  decoderDepth: posInt().optional(),
  decoderHeads: posInt().optional(),
  mlpRatio: num().positive().optional(),
  normPixLoss: z.boolean().optional(),
});

export const TRAIN_MAE_SCHEMA = z.strictObject({
  ...TRAINER,
  model: MAE_MODEL,
  init: str().nullable(),
  maskRatio: num().min(0).max(1),
  weightDecay: num().nonnegative(),
  beta1: num().min(0).max(1),
  beta2: num().min(0).max(1),
  clipNorm: num().nonnegative(),
  irm: z.strictObject({
    temperature: num().positive(),
    weight: num().nonnegative(),
    direction: z.enum(KL_DIRECTIONS),
    excludeDiagonal: z.boolean(),
    lowPass: posInt(),
    teacher: str().nullable(),
  }),
  sampleEvery: nonNegInt(),
});

export const TRAIN_FR_SCHEMA = z.strictObject({
  ...TRAINER,
  backbone: z.enum(BACKBONE_NAMES),
  embeddingDim: posInt(),
  inputSize: posInt(),
  margin: z.strictObject({
    s: num().positive(),
    m1: num(),
    m2: num(),
    m3: num(),
    easyMargin: z.boolean().optional(),
  }),
  optimizer: z.enum(['sgd', 'adamw']),
  schedule: z.enum(['cosine', 'poly']),
  weightDecay: num().nonnegative(),
  momentum: num().min(0).max(1),
  clipNorm: num().nonnegative(),
  verify: strList(),
  verifyEvery: nonNegInt(),
  verifyPairs: nonNegInt(),
  init: str().nullable(),
});
