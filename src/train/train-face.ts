/**
 * Face-recognition training (insightface recognition/arcface_torch train_v2.py, on one process):
 * backbone → cosine classifier (class centres) → combined margin → cross-entropy, SGD momentum
 * (or AdamW), warm-up + poly/cosine schedule, gradient-norm clip (arcface_torch: 5), periodic
 * verification on the given sets (CallBackVerification), atomic checkpoints and exact resume.
 * Batch order of epoch e comes from `rng.fork('epoch-e')` and the flips of step s from
 * `fork('flip-s')`, both functions of the seed, so a resumed run replays the same batches.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Rng } from '../core/rng.js';
import { FaceMaeError } from '../core/errors.js';
import { readVerificationSet } from '../data/verification-set.js';
import { checkMargin } from '../losses/margin.js';
import { faceNetEmbedder } from '../loaders/embedders.js';
import { verifyModel } from '../loaders/verify-model.js';
import { readBackboneInit } from '../loaders/run-face-net.js';
import { assignWeights } from '../data/checkpoint.js';
import type { VerificationSetLike } from '../eval/verification.js';
import { createFrTraining, type FrStepConfig, type FrStepFields } from './fr-step.js';
import {
  runTrainer,
  type BaseStepLog,
  type TrainerConfig,
  type TrainerHooks,
  type TrainerModel,
} from './trainer.js';

/**
 * The loop's keys (data: aligned 112×112 faces; out: checkpoint, log.jsonl, config.json,
 * verification.jsonl; run length, lr, seed, ...: ./trainer.ts) plus the recognizer's.
 */
export interface TrainFrConfig extends TrainerConfig, FrStepConfig {
  /** Verification sets ('lfw:DIR', 'bin:FILE', ...), scored every `verifyEvery` steps and at the end. */
  verify: string[];
  /** 0 = only at the end. */
  verifyEvery: number;
  /** Pairs kept per set during training (evenly spaced; 0 = all). The final score uses all pairs. */
  verifyPairs: number;
  /**
   * Start the backbone from these weights instead of random ones (a fine-tuning): 'mobileface'
   * (the bundled attacker, with backbone 'mobileface') or a train-fr run folder of the same
   * backbone. The classifier head always starts fresh. null: random initialisation.
   */
  init: string | null;
}

export const DEFAULT_TRAIN_FR: TrainFrConfig = {
  data: '',
  out: '',
  backbone: 'r-tiny',
  embeddingDim: 512,
  inputSize: 112,
  margin: { s: 64, m1: 1, m2: 0.5, m3: 0, easyMargin: false },
  steps: null,
  epochs: 1,
  batchSize: 32,
  optimizer: 'sgd',
  lr: 0.1,
  minLr: 0,
  schedule: 'poly',
  warmupFraction: 0.05,
  weightDecay: 5e-4,
  momentum: 0.9,
  clipNorm: 5,
  flip: true,
  seed: 0,
  logEvery: 10,
  checkpointEvery: 200,
  verify: [],
  verifyEvery: 0,
  verifyPairs: 0,
  init: null,
  backend: 'wasm',
};

/** A step's log line; `acc` is the mean over the logging window. */
export interface FrStepLog extends BaseStepLog, FrStepFields {}

export interface FrVerifyLog {
  step: number;
  set: string;
  accuracy: number;
  std: number;
  tar: number;
  pairs: number;
}

export interface TrainFrHooks extends TrainerHooks<FrStepLog> {
  onVerify?: (log: FrVerifyLog) => void;
}

export interface TrainFrResult {
  out: string;
  steps: number;
  last: FrStepLog | null;
  verification: FrVerifyLog[];
}

export async function trainFaceRecognizer(
  config: TrainFrConfig,
  hooks: TrainFrHooks = {},
): Promise<TrainFrResult> {
  const verification: FrVerifyLog[] = [];
  const r = await runTrainer<TrainFrConfig, Omit<FrStepLog, keyof BaseStepLog>>(
    config,
    {
      command: 'train-fr',
      name: 'trainFaceRecognizer',
      logs: [VERIFY_LOG],
      prepare: (cfg) => {
        checkMargin(cfg.margin);
        return cfg;
      },
      checkSet: (set, cfg) => {
        if (set.identities.length < 2)
          throw new FaceMaeError(
            `${cfg.data} has ${set.identities.length} identity folder(s); training needs at least 2`,
            'E_EMPTY',
          );
      },
      build: (cfg, { set, root, resuming }) =>
        buildRecognizer(cfg, set.identities, root, hooks, (log) => verification.push(log), resuming),
    },
    hooks,
  );
  return { out: r.out, steps: r.steps, last: r.last, verification };
}

const VERIFY_LOG = 'verification.jsonl';

/** Backbone + cosine classifier, margin loss, and the periodic verification, as the loop needs them. */
async function buildRecognizer(
  cfg: TrainFrConfig,
  identities: string[],
  root: Rng,
  hooks: TrainFrHooks,
  record: (log: FrVerifyLog) => void,
  resuming: boolean,
): Promise<TrainerModel<Omit<FrStepLog, keyof BaseStepLog>>> {
  const numClasses = identities.length;
  // Verification sets are read once (decoded images stay in memory: LFW is ~290 MB as RGB).
  const sets: VerificationSetLike[] = [];
  for (const spec of cfg.verify)
    sets.push(await readVerificationSet(spec, { size: cfg.inputSize, onWarning: hooks.onWarning }));

  const core = createFrTraining(cfg, numClasses, root);
  const { backbone } = core;
  // a resumed run restores its own weights after this; only a fresh one starts from `init`
  if (cfg.init && !resuming) {
    const init = await readBackboneInit(cfg.init);
    try {
      assignWeights({ ...backbone.params, ...backbone.buffers }, init, `init ${cfg.init}`);
    } catch (e) {
      core.dispose();
      throw e;
    } finally {
      for (const t of Object.values(init)) t.dispose();
    }
  }
  const verifyFile = path.join(cfg.out, VERIFY_LOG);
  const runVerify = async (step: number, full: boolean): Promise<void> => {
    const emb = faceNetEmbedder(backbone, cfg.backbone, { ownsNet: false });
    await verifyModel(emb, sets, {
      pairs: full ? 0 : cfg.verifyPairs,
      onResult: (r) => {
        const log: FrVerifyLog = {
          step,
          set: r.name,
          accuracy: r.accuracy,
          std: r.std,
          tar: r.tarAtFar.tar,
          pairs: r.pairs,
        };
        record(log);
        fs.appendFileSync(verifyFile, JSON.stringify({ ...log, time: new Date().toISOString() }) + '\n');
        hooks.onVerify?.(log);
      },
    });
  };
  return {
    imageSize: core.imageSize,
    params: core.params,
    state: core.state,
    optimizer: core.optimizer,
    schedule: core.schedule,
    meta: {
      kind: 'facemae-fr',
      backbone: cfg.backbone,
      embeddingDim: cfg.embeddingDim,
      inputSize: cfg.inputSize,
      numClasses,
      identities,
      numParams: backbone.numParams(),
    },
    step: core.step,
    describe: (l) =>
      `loss ${l.loss.toFixed(3)} acc ${(100 * l.acc).toFixed(1)}% · ${l.imgPerSec.toFixed(1)} img/s`,
    periodic: sets.length ? [{ every: cfg.verifyEvery, run: (step, final) => runVerify(step, final) }] : [],
    dispose: () => core.dispose(),
  };
}
