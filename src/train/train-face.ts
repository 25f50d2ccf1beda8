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
import { tf, initEngine, type BackendName } from '../engine/backend.js';
import { createRng } from '../core/rng.js';
import { FaceMaeError } from '../core/errors.js';
import { prepareOutDir } from '../core/fs.js';
import { saveResolvedConfig } from '../config/resolve.js';
import { listImageFolder } from '../data/image-folder.js';
import { readVerificationSet } from '../data/verification-set.js';
import type { OnProgress } from '../types.js';
import { createBackbone, type FaceBackbone } from '../models/backbones/index.js';
import { createCosineClassifier, type CosineClassifier } from '../models/heads/cosine-classifier.js';
import { checkMargin, combinedMargin, type MarginConfig } from '../losses/margin.js';
import { crossEntropy, top1Accuracy } from '../losses/cross-entropy.js';
import { faceNetEmbedder } from '../loaders/embedders.js';
import {
  evaluateVerification,
  type VerificationResult,
  type VerificationSetLike,
} from '../eval/verification.js';
import { createOptimizer, type OptimizerKind } from './optimizer.js';
import { createSchedule, type ScheduleKind } from './schedule.js';
import {
  assignWeights,
  disposeCheckpoint,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
import { appendLogLine, resumableBatches, trimLog } from './resumable.js';
import { checkResumeDataset, datasetFingerprint, type DatasetFingerprint } from './dataset-fingerprint.js';

export interface TrainFrConfig {
  /** Image folder <identity>/<image> of aligned 112×112 faces. */
  data: string;
  /** Run folder: checkpoint, log.jsonl, config.json, verification.jsonl. */
  out: string;
  /** Registry name: r18, r50, r-tiny, mbf, ... */
  backbone: string;
  embeddingDim: number;
  inputSize: number;
  margin: MarginConfig;
  /** `steps` wins when given; else epochs × batches per epoch. */
  steps: number | null;
  epochs: number | null;
  batchSize: number;
  optimizer: OptimizerKind;
  /** Peak learning rate (arcface_torch: 0.1 for SGD at batch 128 per GPU). */
  lr: number;
  minLr: number;
  schedule: Extract<ScheduleKind, 'cosine' | 'poly'>;
  warmupFraction: number;
  weightDecay: number;
  momentum: number;
  /** Global gradient-norm clip (arcface_torch: 5; 0 = off). */
  clipNorm: number;
  flip: boolean;
  seed: number;
  logEvery: number;
  checkpointEvery: number;
  /** Verification sets ('lfw:DIR', 'bin:FILE', ...), scored every `verifyEvery` steps and at the end. */
  verify: string[];
  /** 0 = only at the end. */
  verifyEvery: number;
  /** Pairs kept per set during training (evenly spaced; 0 = all). The final score uses all pairs. */
  verifyPairs: number;
  backend: BackendName;
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
  backend: 'wasm',
};

export interface FrStepLog {
  step: number;
  epoch: number;
  lr: number;
  loss: number;
  /** Top-1 accuracy of the raw cosines (before the margin) over the logging window. */
  acc: number;
  gradNorm: number;
  imgPerSec: number;
}

export interface FrVerifyLog {
  step: number;
  set: string;
  accuracy: number;
  std: number;
  tar: number;
  pairs: number;
}

export interface TrainFrHooks {
  onProgress?: OnProgress;
  onStep?: (log: FrStepLog) => void;
  onVerify?: (log: FrVerifyLog) => void;
  onCheckpoint?: (step: number, dir: string) => void;
  onWarning?: (message: string) => void;
  /** Continue from the checkpoint in `out` (its saved config is used, but for `runLength`). */
  resume?: boolean;
  /** On resume: a new run length (e.g. to extend a finished run); the schedule is recomputed for it. */
  runLength?: { steps?: number | null; epochs?: number | null };
  overwrite?: boolean;
}

export interface TrainFrResult {
  out: string;
  steps: number;
  last: FrStepLog | null;
  verification: FrVerifyLog[];
}

/** Keeps `limit` evenly spaced pairs (with their fold ids); 0 keeps all. */
export function subsamplePairs<T extends VerificationSetLike>(set: T, limit: number): VerificationSetLike {
  const p = set.issame.length;
  if (!limit || limit >= p) return set;
  const keep = Array.from({ length: limit }, (_, i) => Math.floor((i * p) / limit));
  return {
    name: set.name,
    images: keep.flatMap((k) => [set.images[2 * k], set.images[2 * k + 1]]).filter((x) => x !== undefined),
    issame: keep.map((k) => set.issame[k] as boolean),
    folds: set.folds ? keep.map((k) => set.folds?.[k] as number) : undefined,
  };
}

export async function trainFaceRecognizer(
  config: TrainFrConfig,
  hooks: TrainFrHooks = {},
): Promise<TrainFrResult> {
  if (!config.out) throw new FaceMaeError('trainFaceRecognizer needs an output folder (--out)', 'E_CONFIG');
  let cfg = config;
  const resuming = Boolean(hooks.resume && hasCheckpoint(cfg.out));
  if (hooks.resume && !resuming)
    hooks.onWarning?.(`--resume: no checkpoint in ${cfg.out} yet, starting from scratch`);
  prepareOutDir(cfg.out, { resume: hooks.resume, overwrite: hooks.overwrite });
  await initEngine({ backend: cfg.backend });
  let ckpt: ReturnType<typeof loadCheckpoint> | undefined;
  let startStep = 0;
  if (resuming) {
    ckpt = loadCheckpoint(cfg.out);
    const saved = ckpt.config as TrainFrConfig | undefined;
    if (saved) cfg = { ...saved, data: config.data || saved.data, out: config.out };
    if (hooks.runLength)
      cfg = { ...cfg, steps: hooks.runLength.steps ?? null, epochs: hooks.runLength.epochs ?? cfg.epochs };
    startStep = ckpt.step;
  }
  if (!cfg.data) throw new FaceMaeError('trainFaceRecognizer needs a data folder (--data)', 'E_CONFIG');
  checkMargin(cfg.margin);
  const folder = await listImageFolder(cfg.data, { onWarning: hooks.onWarning });
  const records = folder.records;
  const dataset = datasetFingerprint(cfg.data, records);
  if (ckpt) checkResumeDataset(cfg.out, ckpt.meta?.dataset as DatasetFingerprint | undefined, dataset);
  const numClasses = folder.identities.length;
  if (numClasses < 2)
    throw new FaceMaeError(
      `${cfg.data} has ${numClasses} identity folder(s); training needs at least 2`,
      'E_EMPTY',
    );
  const perEpoch = Math.floor(records.length / cfg.batchSize);
  if (perEpoch < 1)
    throw new FaceMaeError(
      `${cfg.data} has ${records.length} images, fewer than one batch of ${cfg.batchSize}: lower --batch-size`,
      'E_EMPTY',
    );
  let totalSteps: number;
  if (cfg.steps !== null && cfg.steps !== undefined) {
    if (!(Number.isInteger(cfg.steps) && cfg.steps > 0))
      throw new FaceMaeError(`steps must be a positive integer, got ${cfg.steps}`, 'E_CONFIG');
    totalSteps = cfg.steps;
  } else {
    if (!(cfg.epochs && cfg.epochs > 0))
      throw new FaceMaeError(`give steps or epochs > 0 (got epochs=${cfg.epochs})`, 'E_CONFIG');
    totalSteps = Math.max(1, Math.round(cfg.epochs * perEpoch));
  }
  if (!resuming) saveResolvedConfig(cfg.out, 'train-fr', cfg);

  // Verification sets are read once (decoded images stay in memory: LFW is ~290 MB as RGB).
  const sets: VerificationSetLike[] = [];
  for (const spec of cfg.verify)
    sets.push(await readVerificationSet(spec, { size: cfg.inputSize, onWarning: hooks.onWarning }));

  const root = createRng(cfg.seed);
  const backbone: FaceBackbone = createBackbone(cfg.backbone, root.fork('backbone'), {
    embeddingDim: cfg.embeddingDim,
    inputSize: cfg.inputSize,
  });
  const head: CosineClassifier = createCosineClassifier(cfg.embeddingDim, numClasses, root.fork('head'));
  const params: Record<string, tf.Variable> = { ...backbone.params, 'head.weight': head.weight };
  const state: Record<string, tf.Variable> = { ...params, ...backbone.buffers };
  const opt = createOptimizer(params, {
    kind: cfg.optimizer,
    weightDecay: cfg.weightDecay,
    momentum: cfg.momentum,
    clipNorm: cfg.clipNorm,
  });
  if (ckpt) {
    assignWeights(state, ckpt.weights, path.join(cfg.out, 'checkpoint.json'));
    if (ckpt.optimizer) opt.setState(ckpt.optimizer);
    disposeCheckpoint(ckpt);
  }
  const schedule = createSchedule({
    kind: cfg.schedule,
    baseLr: cfg.lr,
    minLr: Math.min(cfg.minLr, cfg.lr),
    warmupSteps: Math.min(totalSteps, Math.round(cfg.warmupFraction * totalSteps)),
    totalSteps,
    power: 2,
  });
  const logFile = path.join(cfg.out, 'log.jsonl');
  const verifyFile = path.join(cfg.out, 'verification.jsonl');
  if (resuming) {
    trimLog(logFile, startStep);
    trimLog(verifyFile, startStep);
  } else {
    fs.rmSync(logFile, { force: true });
    fs.rmSync(verifyFile, { force: true });
  }
  const verifications: FrVerifyLog[] = [];
  const runVerify = async (step: number, full: boolean): Promise<VerificationResult[]> => {
    const out: VerificationResult[] = [];
    const emb = faceNetEmbedder(backbone, cfg.backbone, { ownsNet: false });
    for (const set of sets) {
      const r = await evaluateVerification(emb, full ? set : subsamplePairs(set, cfg.verifyPairs));
      const log: FrVerifyLog = {
        step,
        set: r.name,
        accuracy: r.accuracy,
        std: r.std,
        tar: r.tarAtFar.tar,
        pairs: r.pairs,
      };
      verifications.push(log);
      fs.appendFileSync(verifyFile, JSON.stringify({ ...log, time: new Date().toISOString() }) + '\n');
      hooks.onVerify?.(log);
      out.push(r);
    }
    return out;
  };
  const save = async (step: number) => {
    const st = opt.getState();
    try {
      await saveCheckpoint(cfg.out, {
        step,
        weights: state,
        optimizer: st,
        rng: { root: root.getState() },
        config: cfg,
        meta: {
          kind: 'facemae-fr',
          dataset,
          backbone: cfg.backbone,
          embeddingDim: cfg.embeddingDim,
          inputSize: cfg.inputSize,
          numClasses,
          identities: folder.identities,
          numParams: backbone.numParams(),
        },
      });
    } finally {
      tf.dispose(Object.values(st.slots));
    }
    hooks.onCheckpoint?.(step, cfg.out);
  };

  let step = startStep;
  let last: FrStepLog | null = null;
  let windowStart = performance.now();
  let windowImgs = 0;
  let windowHits = 0;
  try {
    for await (const { images: x, batch } of resumableBatches(records, {
      seed: cfg.seed,
      startStep: step,
      perEpoch,
      totalSteps,
      batchSize: cfg.batchSize,
      size: cfg.inputSize,
      flip: cfg.flip,
      onWarning: hooks.onWarning,
    })) {
      const n = x.shape[0];
      const lr = schedule.lrAt(step);
      let cosT: tf.Tensor2D | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const cos = head.apply(backbone.apply(x, true));
        cosT = tf.keep(cos);
        return crossEntropy(combinedMargin(cos, batch.labels, cfg.margin), batch.labels);
      }, Object.values(params));
      const loss = (await value.data())[0] as number;
      const cosData = (await (cosT as unknown as tf.Tensor2D).data()) as Float32Array;
      value.dispose();
      (cosT as unknown as tf.Tensor2D).dispose();
      let gradNorm = NaN;
      try {
        if (!Number.isFinite(loss)) {
          throw new FaceMaeError(
            `non-finite loss (${loss}) at step ${step}; batch: ${batch.records.map((r) => r.path).join(', ')}. Lower --lr`,
            'E_NAN',
          );
        }
        gradNorm = opt.step(grads, lr).gradNorm;
        if (!Number.isFinite(gradNorm))
          throw new FaceMaeError(`non-finite gradient norm at step ${step}: lower --lr`, 'E_NAN');
      } finally {
        tf.dispose(Object.values(grads));
        x.dispose();
      }
      step += 1;
      windowImgs += n;
      windowHits += top1Accuracy(cosData, batch.labels, numClasses) * n;
      const now = performance.now();
      const imgPerSec = (windowImgs * 1000) / Math.max(1, now - windowStart);
      last = { step, epoch: step / perEpoch, lr, loss, acc: windowHits / windowImgs, gradNorm, imgPerSec };
      if (step % cfg.logEvery === 0 || step === totalSteps) {
        appendLogLine(logFile, last);
        windowStart = now;
        windowImgs = 0;
        windowHits = 0;
      }
      hooks.onProgress?.(
        step,
        totalSteps,
        `loss ${loss.toFixed(3)} acc ${(100 * last.acc).toFixed(1)}% · ${imgPerSec.toFixed(1)} img/s`,
      );
      hooks.onStep?.(last);
      if (step % cfg.checkpointEvery === 0 && step < totalSteps) await save(step);
      if (cfg.verifyEvery > 0 && step % cfg.verifyEvery === 0 && step < totalSteps && sets.length)
        await runVerify(step, false);
    }
    await save(step);
    if (sets.length) await runVerify(step, true);
  } finally {
    opt.dispose();
    backbone.dispose();
    head.dispose();
  }
  return { out: cfg.out, steps: step, last, verification: verifications };
}
