/**
 * FaceMAE pre-training: masked-patch MSE + λ·IRM with a frozen face-recognition teacher
 * (facebookresearch/mae main_pretrain.py + engine_pretrain.py, wired for this project).
 *
 * Reproducibility and resume: the batch order of epoch e is a shuffle drawn from
 * `rng.fork('epoch-e')`, the flips and masks of step s from `rng.fork('flip-s')`/`fork('mask-s')`,
 * all derived from the seed. A checkpoint holds weights, optimizer slots and the step, so a run
 * resumed after a kill replays exactly the batches and masks the uninterrupted run would have.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf, initEngine, type BackendName } from '../engine/backend.js';
import { createRng, type Rng } from '../core/rng.js';
import { FaceMaeError } from '../core/errors.js';
import { prepareOutDir } from '../core/fs.js';
import { saveResolvedConfig } from '../config/resolve.js';
import { listImageFolder, writeImage } from '../data/image-folder.js';
import { createLoader, tensorToImages } from '../data/loader.js';
import type { FaceNet, FaceRecord, OnProgress } from '../types.js';
import { modelFingerprint } from '../loaders/model-fingerprint.js';
import { createMae, type Mae } from '../models/mae/mae.js';
import { resolveMaeConfig, type MaeModelSpec, DEFAULT_MAE_SPEC } from '../models/mae/config.js';
import { randomMasking, type Masking } from '../models/mae/masking.js';
import { maskedMse } from '../losses/reconstruction.js';
import { irmLoss, DEFAULT_IRM, type IrmConfig } from '../losses/irm.js';
import { createOptimizer, type TrainOptimizer } from './optimizer.js';
import { appendLogLine, resumableBatches, trimLog } from './resumable.js';
import { checkResumeDataset, datasetFingerprint, type DatasetFingerprint } from './dataset-fingerprint.js';
import { createSchedule } from './schedule.js';
import {
  assignWeights,
  disposeCheckpoint,
  hasCheckpoint,
  loadCheckpoint,
  readCheckpointInfo,
  saveCheckpoint,
} from './checkpoint.js';

export interface TrainMaeConfig {
  /** Image folder (<identity>/<image>) of training faces. */
  data: string;
  /** Output run folder (checkpoint, log.jsonl, samples/, config.json). */
  out: string;
  model: MaeModelSpec;
  /**
   * Start from the weights of a trained MAE (a train-mae run or a compact model such as
   * assets/models/facemae-tiny) instead of random ones: fine-tuning, e.g. adding IRM to an
   * MSE-pretrained model. Its model config replaces `model`. null = random initialisation.
   */
  init: string | null;
  /** Fraction of patches removed (MAE: 0.75). */
  maskRatio: number;
  /** Run length: `steps` wins when both are given; otherwise epochs × batches per epoch. */
  steps: number | null;
  epochs: number | null;
  batchSize: number;
  /** Peak learning rate (absolute, after warm-up). */
  lr: number;
  minLr: number;
  /** Warm-up length as a fraction of the run (MAE: 40 of 400-800 epochs, ~5-10%). */
  warmupFraction: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip (0 = off). */
  clipNorm: number;
  /** Random horizontal flips. */
  flip: boolean;
  irm: IrmConfig & {
    /** FaceNet spec for loadFaceNet: 'faceplugin' | FILE.onnx | RUN_DIR; null = IRM off. */
    teacher: string | null;
  };
  seed: number;
  logEvery: number;
  checkpointEvery: number;
  /** Write samples/step-N.png every N steps (0 = only at the end). */
  sampleEvery: number;
  backend: BackendName;
}

export const DEFAULT_TRAIN_MAE: TrainMaeConfig = {
  data: '',
  out: '',
  model: DEFAULT_MAE_SPEC,
  init: null,
  maskRatio: 0.75,
  steps: null,
  epochs: 10,
  batchSize: 32,
  lr: 1e-3,
  minLr: 1e-5,
  warmupFraction: 0.05,
  weightDecay: 0.05,
  beta1: 0.9,
  beta2: 0.95,
  clipNorm: 1,
  flip: true,
  irm: { ...DEFAULT_IRM, teacher: null },
  seed: 0,
  logEvery: 10,
  checkpointEvery: 200,
  sampleEvery: 200,
  backend: 'wasm',
};

export interface StepLog {
  step: number;
  epoch: number;
  lr: number;
  loss: number;
  mse: number;
  irm: number | null;
  gradNorm: number;
  imgPerSec: number;
}

export interface TrainMaeHooks {
  /** Loads the IRM teacher (default: loadFaceNet from models/load-face-net). */
  loadTeacher?: (spec: string) => Promise<FaceNet>;
  onProgress?: OnProgress;
  /** After every step (throwing here aborts the run, as a kill would, without a checkpoint). */
  onStep?: (log: StepLog) => void;
  onCheckpoint?: (step: number, dir: string) => void;
  onWarning?: (message: string) => void;
  /** Continue from the checkpoint in `out` (its saved config is used). */
  resume?: boolean;
  /** Allow writing into a non-empty `out` from scratch. */
  overwrite?: boolean;
  /** On resume: change the run length (the cosine schedule is recomputed for the new total). */
  resumeSteps?: number;
}

export interface TrainMaeResult {
  out: string;
  steps: number;
  /** Last logged losses. */
  last: StepLog | null;
  irm: boolean;
}

/** Batches per epoch (last incomplete batch dropped). */
export function batchesPerEpoch(numImages: number, batchSize: number): number {
  return Math.floor(numImages / batchSize);
}

/** Masks/flip flags for a step: a function of (seed, step) only. */
export function stepMasking(
  seed: number,
  step: number,
  n: number,
  numPatches: number,
  ratio: number,
): Masking {
  return randomMasking(n, numPatches, ratio, createRng(seed).fork(`mask-${step}`));
}

function resolveSteps(cfg: TrainMaeConfig, perEpoch: number): number {
  if (cfg.steps !== null && cfg.steps !== undefined) {
    if (!(Number.isInteger(cfg.steps) && cfg.steps > 0))
      throw new FaceMaeError(`steps must be a positive integer, got ${cfg.steps}`, 'E_CONFIG');
    return cfg.steps;
  }
  if (!(cfg.epochs && cfg.epochs > 0))
    throw new FaceMaeError(`give steps or epochs > 0 (got epochs=${cfg.epochs})`, 'E_CONFIG');
  return Math.max(1, Math.round(cfg.epochs * perEpoch));
}

/** Writes a grid PNG: rows original | masked (removed patches grey) | reconstruction. */
export async function writeSampleGrid(file: string, mae: Mae, imgs: tf.Tensor4D, m: Masking): Promise<void> {
  const p = mae.config.patchSize;
  const s = mae.config.imageSize;
  const grid = s / p;
  const rows = tf.tidy(() => {
    const rec = mae.reconstruct(imgs, m);
    const n = imgs.shape[0];
    const maskImg = tf.image.resizeNearestNeighbor(
      tf.reshape(tf.tensor2d(m.mask, [n, grid * grid]), [n, grid, grid, 1]) as tf.Tensor4D,
      [s, s],
    );
    const masked = tf.add(tf.mul(imgs, tf.sub(1, maskImg)), tf.mul(maskImg, 0.5));
    // [3 rows, n cols] -> one image [3s, n*s]
    const row = (t: tf.Tensor4D) =>
      tf.concat(
        tf.unstack(t).map((a) => a as tf.Tensor3D),
        1,
      );
    return tf.expandDims(tf.concat([row(imgs), row(masked as tf.Tensor4D), row(rec)], 0), 0) as tf.Tensor4D;
  });
  const [img] = await tensorToImages(rows);
  rows.dispose();
  if (img) await writeImage(file, img);
}

/** Loads the default teacher through helper D's loadFaceNet. */
async function defaultLoadTeacher(spec: string): Promise<FaceNet> {
  const mod = await import('../loaders/face-net.js');
  return mod.loadFaceNet(spec);
}

/** The model config stored in an MAE checkpoint's metadata (for `init`); errors name the folder. */
function initModelSpec(dir: string): MaeModelSpec {
  if (!hasCheckpoint(dir)) {
    throw new FaceMaeError(
      `--init ${dir}: no checkpoint.json there; give a train-mae run folder`,
      'E_NO_CKPT',
    );
  }
  const meta = (readCheckpointInfo(dir).meta ?? {}) as { model?: MaeModelSpec };
  if (!meta.model) {
    throw new FaceMaeError(
      `--init ${dir}: not a FaceMAE MAE checkpoint (no model config in its metadata)`,
      'E_BAD_CKPT',
    );
  }
  return { ...meta.model, preset: null };
}

/**
 * Whether the IRM term is on, saying why when it is off; a NaN, infinite or negative λ is refused
 * (it would otherwise read as "off" or poison the loss).
 */
export function irmEnabled(irm: TrainMaeConfig['irm'], onWarning?: (m: string) => void): boolean {
  const w = irm.weight;
  if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
    throw new FaceMaeError(
      `irm.weight must be a finite number >= 0 (0 turns IRM off), got ${String(w)}`,
      'E_CONFIG',
    );
  }
  const teacher = irm.teacher !== null && irm.teacher !== undefined && irm.teacher !== '';
  if (!teacher) {
    onWarning?.('IRM is off (no --irm-teacher): training with the masked-patch MSE only');
    return false;
  }
  if (w === 0) {
    onWarning?.(
      `IRM is off because irm.weight is 0 (the teacher ${irm.teacher} is not used): training with the masked-patch MSE only`,
    );
    return false;
  }
  return true;
}

/** Trains a FaceMAE and writes the run folder. */
export async function trainMae(config: TrainMaeConfig, hooks: TrainMaeHooks = {}): Promise<TrainMaeResult> {
  if (!config.out) throw new FaceMaeError('trainMae needs an output folder (--out)', 'E_CONFIG');
  let cfg = config;
  const resuming = Boolean(hooks.resume && hasCheckpoint(cfg.out));
  if (
    hooks.resume &&
    !resuming &&
    fs.existsSync(cfg.out) &&
    fs.readdirSync(cfg.out).length > 0 &&
    !hooks.overwrite
  ) {
    hooks.onWarning?.(`--resume: no checkpoint in ${cfg.out} yet, starting from scratch`);
  }
  prepareOutDir(cfg.out, { resume: hooks.resume, overwrite: hooks.overwrite });
  await initEngine({ backend: cfg.backend });

  let startStep = 0;
  let ckpt: ReturnType<typeof loadCheckpoint> | undefined;
  if (resuming) {
    ckpt = loadCheckpoint(cfg.out);
    const saved = ckpt.config as TrainMaeConfig | undefined;
    if (saved) cfg = { ...saved, data: config.data || saved.data, out: config.out };
    if (hooks.resumeSteps !== undefined && hooks.resumeSteps !== cfg.steps) {
      hooks.onWarning?.(
        `resuming with a new run length: ${hooks.resumeSteps} steps (was ${cfg.steps ?? `${cfg.epochs} epochs`})`,
      );
      cfg = { ...cfg, steps: hooks.resumeSteps };
    }
    startStep = ckpt.step;
  }
  if (!cfg.data) throw new FaceMaeError('trainMae needs a data folder (--data)', 'E_CONFIG');
  if (!resuming && cfg.init) cfg = { ...cfg, model: initModelSpec(cfg.init) };
  const modelCfg = resolveMaeConfig(cfg.model);
  const folder = await listImageFolder(cfg.data, { onWarning: hooks.onWarning });
  const records = folder.records;
  const dataset = datasetFingerprint(cfg.data, records);
  if (ckpt) checkResumeDataset(cfg.out, ckpt.meta?.dataset as DatasetFingerprint | undefined, dataset);
  const perEpoch = batchesPerEpoch(records.length, cfg.batchSize);
  if (perEpoch < 1) {
    throw new FaceMaeError(
      `${cfg.data} has ${records.length} images, fewer than one batch of ${cfg.batchSize}: lower --batch-size`,
      'E_EMPTY',
    );
  }
  const totalSteps = resolveSteps(cfg, perEpoch);
  const irmOn = irmEnabled(cfg.irm, hooks.onWarning);
  saveResolvedConfig(cfg.out, 'train-mae', cfg);

  const root = createRng(cfg.seed);
  const mae = createMae(modelCfg, root.fork('init'));
  const opt: TrainOptimizer = createOptimizer(mae.variables, {
    kind: 'adamw',
    weightDecay: cfg.weightDecay,
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    clipNorm: cfg.clipNorm,
  });
  if (ckpt) {
    assignWeights(mae.variables, ckpt.weights, path.join(cfg.out, 'checkpoint.json'));
    if (ckpt.optimizer) opt.setState(ckpt.optimizer);
    disposeCheckpoint(ckpt);
  } else if (cfg.init) {
    // Weights only: the optimizer state and schedule start fresh for the fine-tuning run.
    const init = loadCheckpoint(cfg.init);
    try {
      assignWeights(mae.variables, init.weights, path.join(cfg.init, 'checkpoint.json'));
    } finally {
      disposeCheckpoint(init);
    }
  }
  const schedule = createSchedule({
    kind: 'cosine',
    baseLr: cfg.lr,
    minLr: Math.min(cfg.minLr, cfg.lr),
    warmupSteps: Math.min(totalSteps, Math.round(cfg.warmupFraction * totalSteps)),
    totalSteps,
  });

  let teacher: FaceNet | null = null;
  if (irmOn) teacher = await (hooks.loadTeacher ?? defaultLoadTeacher)(cfg.irm.teacher as string);

  const logFile = path.join(cfg.out, 'log.jsonl');
  if (resuming) trimLog(logFile, startStep);
  else if (fs.existsSync(logFile)) fs.rmSync(logFile);
  const samplesDir = path.join(cfg.out, 'samples');

  // fixed visualisation batch: 8 images spread over the sorted list (so, over identities), fixed masks
  const vizCount = Math.min(8, records.length);
  const vizRecords = Array.from(
    { length: vizCount },
    (_, i) => records[Math.floor((i * records.length) / vizCount)] as FaceRecord,
  );
  const vizLoader = createLoader({
    records: vizRecords,
    batchSize: vizRecords.length,
    size: modelCfg.imageSize,
  });
  let vizImgs: tf.Tensor4D | null = null;
  for await (const b of vizLoader.epoch()) vizImgs = b.images;
  const vizMask = randomMasking(vizRecords.length, mae.numPatches, cfg.maskRatio, root.fork('viz'));

  const save = async (step: number) => {
    const state = opt.getState();
    try {
      await saveCheckpoint(cfg.out, {
        step,
        weights: mae.variables,
        optimizer: state,
        rng: { root: root.getState() },
        config: cfg,
        meta: {
          model: modelCfg,
          numParams: mae.numParams(),
          irm: irmOn,
          kind: 'facemae-mae',
          dataset,
          irmTeacher: irmOn ? cfg.irm.teacher : null,
          irmTeacherFingerprint: irmOn ? modelFingerprint(cfg.irm.teacher as string) : null,
        },
      });
    } finally {
      tf.dispose(Object.values(state.slots));
    }
    hooks.onCheckpoint?.(step, cfg.out);
  };
  const sample = async (step: number) => {
    if (!vizImgs) return;
    const file = path.join(samplesDir, `step-${String(step).padStart(6, '0')}.png`);
    await writeSampleGrid(file, mae, vizImgs, vizMask);
    fs.copyFileSync(file, path.join(samplesDir, 'latest.png'));
  };

  let step = startStep;
  let last: StepLog | null = null;
  let windowStart = performance.now();
  let windowImgs = 0;
  const irmCfg: IrmConfig = {
    temperature: cfg.irm.temperature,
    weight: cfg.irm.weight,
    direction: cfg.irm.direction,
    excludeDiagonal: cfg.irm.excludeDiagonal,
  };
  try {
    for await (const { images: x, batch } of resumableBatches(records, {
      seed: cfg.seed,
      startStep: step,
      perEpoch,
      totalSteps,
      batchSize: cfg.batchSize,
      size: modelCfg.imageSize,
      flip: cfg.flip,
      onWarning: hooks.onWarning,
    })) {
      const n = x.shape[0];
      const m = stepMasking(cfg.seed, step, n, mae.numPatches, cfg.maskRatio);
      const lr = schedule.lrAt(step);
      let mseT: tf.Scalar | null = null;
      let irmT: tf.Scalar | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const f = mae.forward(x, m);
        const mse = maskedMse(f.pred, f.target, f.mask);
        mseT = tf.keep(mse);
        if (!teacher) return mse;
        const rec = mae.pasteBack(x, f);
        const irm = irmLoss(teacher, x, rec, irmCfg);
        irmT = tf.keep(irm);
        return tf.add(mse, tf.mul(irm, irmCfg.weight)) as tf.Scalar;
      }, Object.values(mae.variables));
      const loss = (await value.data())[0] as number;
      const mse = (mseT as tf.Scalar | null)?.dataSync()[0] ?? NaN;
      const irm = irmT ? ((irmT as tf.Scalar).dataSync()[0] as number) : null;
      value.dispose();
      (mseT as tf.Scalar | null)?.dispose();
      (irmT as tf.Scalar | null)?.dispose();
      let gradNorm = NaN;
      try {
        if (!Number.isFinite(loss)) {
          throw new FaceMaeError(
            `non-finite loss (${loss}) at step ${step}: mse=${mse}${irm !== null ? ` irm=${irm}` : ''}; batch: ${batch.records
              .map((r) => r.path)
              .join(', ')}. Lower --lr or check these images`,
            'E_NAN',
          );
        }
        gradNorm = opt.step(grads, lr).gradNorm;
        if (!Number.isFinite(gradNorm)) {
          throw new FaceMaeError(
            `non-finite gradient norm at step ${step}; batch: ${batch.records.map((r) => r.path).join(', ')}. Lower --lr`,
            'E_NAN',
          );
        }
      } finally {
        tf.dispose(Object.values(grads));
        x.dispose();
      }
      step += 1;
      windowImgs += n;
      const now = performance.now();
      const imgPerSec = (windowImgs * 1000) / Math.max(1, now - windowStart);
      last = { step, epoch: (step - 1) / perEpoch, lr, loss, mse, irm, gradNorm, imgPerSec };
      if (step % cfg.logEvery === 0 || step === totalSteps) {
        appendLogLine(logFile, last);
        windowStart = now;
        windowImgs = 0;
      }
      hooks.onProgress?.(
        step,
        totalSteps,
        `loss ${loss.toFixed(4)}${irm !== null ? ` (irm ${irm.toFixed(4)})` : ''} · ${imgPerSec.toFixed(1)} img/s`,
      );
      hooks.onStep?.(last);
      if (step % cfg.checkpointEvery === 0 && step < totalSteps) await save(step);
      if (cfg.sampleEvery > 0 && step % cfg.sampleEvery === 0 && step < totalSteps) await sample(step);
    }
    await save(step);
    await sample(step);
  } finally {
    vizImgs?.dispose();
    opt.dispose();
    mae.dispose();
    teacher?.dispose();
  }
  return { out: cfg.out, steps: step, last, irm: irmOn };
}

/** Re-exported for callers that want a fixed Rng for their own masks. */
export type { Rng };
