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
import { tf } from '../engine/backend.js';
import type { Rng } from '../core/rng.js';
import { FaceMaeError } from '../core/errors.js';
import { writeImage } from '../data/image-folder.js';
import { createLoader, tensorToImages } from '../data/loader.js';
import type { FaceNet } from '../types.js';
import { modelFingerprint } from '../loaders/model-fingerprint.js';
import type { Mae } from '../models/mae/mae.js';
import { type MaeModelSpec, DEFAULT_MAE_SPEC } from '../models/mae/config.js';
import { randomMasking, type Masking } from '../models/mae/masking.js';
import { DEFAULT_IRM, checkLowPass, type IrmConfig } from '../losses/irm.js';
import { createMaeTraining, type MaeStepConfig, type MaeStepFields, type MaeTraining } from './mae-step.js';
import { assignWeights, disposeCheckpoint, loadCheckpoint, readRunInfo } from '../data/checkpoint.js';
import { subsetSource } from '../data/source.js';
import {
  runTrainer,
  type TrainingSet,
  type BaseStepLog,
  type TrainerConfig,
  type TrainerHooks,
  type TrainerModel,
} from './trainer.js';

/**
 * The loop's keys (data, out, run length, lr, seed, ...: ./trainer.ts; MAE warms up for 40 of
 * 400-800 epochs, ~5-10%) plus the MAE's and IRM's.
 */
export interface TrainMaeConfig extends TrainerConfig, MaeStepConfig {
  /**
   * Start from the weights of a trained MAE (a train-mae run or a compact model such as
   * assets/models/facemae-tiny) instead of random ones: fine-tuning, e.g. adding IRM to an
   * MSE-pretrained model. Its model config replaces `model`. null = random initialisation.
   */
  init: string | null;
  irm: IrmConfig & {
    /** FaceNet spec for loadFaceNet: 'faceplugin' | FILE.onnx | RUN_DIR; null = IRM off. */
    teacher: string | null;
  };
  /** Write samples/step-N.png every N steps (0 = only at the end). */
  sampleEvery: number;
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

/** A step's log line: the loop's fields plus the loss terms. */
export interface StepLog extends BaseStepLog, MaeStepFields {}

export interface TrainMaeHooks extends TrainerHooks<StepLog> {
  /** Loads the IRM teacher (default: loadFaceNet from loaders/face-net). */
  loadTeacher?: (spec: string) => Promise<FaceNet>;
}

export interface TrainMaeResult {
  out: string;
  steps: number;
  /** Last logged losses. */
  last: StepLog | null;
  irm: boolean;
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
  const meta = readRunInfo(dir, 'facemae-mae', { key: 'init' }).meta as { model: MaeModelSpec };
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
  checkLowPass(irm.lowPass ?? 1);
  const teacher = irm.teacher !== null && irm.teacher !== undefined && irm.teacher !== '';
  if (!teacher) {
    onWarning?.('IRM is off (no irm.teacher): training with the masked-patch MSE only');
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
  let irmOn = false;
  const r = await runTrainer<TrainMaeConfig, Omit<StepLog, keyof BaseStepLog>>(
    config,
    {
      command: 'train-mae',
      name: 'trainMae',
      prepare: (cfg, { resuming }) => {
        irmOn = irmEnabled(cfg.irm, hooks.onWarning);
        return !resuming && cfg.init ? { ...cfg, model: initModelSpec(cfg.init) } : cfg;
      },
      build: (cfg, { set, root, resuming }) => buildMae(cfg, set, root, resuming, irmOn, hooks),
    },
    hooks,
  );
  return { out: r.out, steps: r.steps, last: r.last, irm: irmOn };
}

/** The MAE, its optional frozen IRM teacher and the fixed sample-grid batch, as the loop needs them. */
async function buildMae(
  cfg: TrainMaeConfig,
  set: TrainingSet,
  root: Rng,
  resuming: boolean,
  irmOn: boolean,
  hooks: TrainMaeHooks,
): Promise<TrainerModel<Omit<StepLog, keyof BaseStepLog>>> {
  // The teacher first: the MAE's step holds it (weights come from root.fork('init') either way).
  const teacher: FaceNet | null = irmOn
    ? await (hooks.loadTeacher ?? defaultLoadTeacher)(cfg.irm.teacher as string)
    : null;
  let core: MaeTraining | null = null;
  let vizImgs: tf.Tensor4D | null = null;
  try {
    core = createMaeTraining(cfg, root, teacher);
    const { mae } = core;
    const modelCfg = mae.config;
    if (!resuming && cfg.init) {
      // Weights only: the optimizer state and schedule start fresh for the fine-tuning run.
      const init = loadCheckpoint(cfg.init);
      try {
        assignWeights(mae.variables, init.weights, path.join(cfg.init, 'checkpoint.json'));
      } finally {
        disposeCheckpoint(init);
      }
    }

    // fixed visualisation batch: 8 images spread over the sorted list (so, over identities), fixed masks
    const n = set.source.length;
    const vizCount = Math.min(8, n);
    const vizIndices = Array.from({ length: vizCount }, (_, i) => Math.floor((i * n) / vizCount));
    const vizLoader = createLoader({
      source: subsetSource(set.source, vizIndices),
      batchSize: vizCount,
      size: modelCfg.imageSize,
    });
    for await (const b of vizLoader.epoch()) vizImgs = b.images;
    const vizMask = randomMasking(vizCount, mae.numPatches, cfg.maskRatio, root.fork('viz'));
    const samplesDir = path.join(cfg.out, 'samples');
    const viz = vizImgs;
    const c = core;
    return {
      imageSize: c.imageSize,
      params: c.params,
      state: c.state,
      optimizer: c.optimizer,
      schedule: c.schedule,
      step: c.step,
      meta: {
        model: modelCfg,
        numParams: mae.numParams(),
        irm: irmOn,
        kind: 'facemae-mae',
        irmTeacher: irmOn ? cfg.irm.teacher : null,
        irmTeacherFingerprint: irmOn ? modelFingerprint(cfg.irm.teacher as string) : null,
      },
      describe: (l) =>
        `loss ${l.loss.toFixed(4)}${l.irm !== null ? ` (irm ${l.irm.toFixed(4)})` : ''} · ${l.imgPerSec.toFixed(1)} img/s`,
      periodic: [
        {
          every: cfg.sampleEvery,
          async run(step) {
            if (!viz) return;
            const file = path.join(samplesDir, `step-${String(step).padStart(6, '0')}.png`);
            await writeSampleGrid(file, mae, viz, vizMask);
            fs.copyFileSync(file, path.join(samplesDir, 'latest.png'));
          },
        },
      ],
      dispose() {
        viz?.dispose();
        c.dispose();
        teacher?.dispose();
      },
    };
  } catch (e) {
    vizImgs?.dispose();
    core?.dispose();
    teacher?.dispose();
    throw e;
  }
}

/** Re-exported for callers that want a fixed Rng for their own masks. */
export type { Rng };
