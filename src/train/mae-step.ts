/**
 * The FaceMAE training step (masked-patch MSE + λ·IRM through a frozen teacher) and what the loop
 * needs around it (parameters, optimizer and schedule settings). `trainMae` builds it once per
 * run; `npm run bench -- mae|irm` builds the same thing, so the bench times what training runs.
 */
import { tf } from '../engine/backend.js';
import { createRng, type Rng } from '../core/rng.js';
import type { FaceBatch, FaceNet } from '../types.js';
import { createMae, type Mae } from '../models/mae/mae.js';
import { resolveMaeConfig, type MaeModelSpec } from '../models/mae/config.js';
import { randomMasking, type Masking } from '../models/mae/masking.js';
import { maskedMse } from '../losses/reconstruction.js';
import { irmLossToTarget, teacherEmbeddings, type IrmConfig } from '../losses/irm.js';
import type { StepOutput, TrainerModel } from './trainer.js';
import { flipFlags } from './resumable.js';
import { createTeacherCache } from './teacher-cache.js';

/** The keys of a train-mae config the step depends on (TrainMaeConfig has them all). */
export interface MaeStepConfig {
  model: MaeModelSpec;
  /** The run's seed: step s masks with `createRng(seed).fork('mask-s')`. */
  seed: number;
  /** Fraction of patches removed (MAE: 0.75). */
  maskRatio: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip (0 = off). */
  clipNorm: number;
  /** Whether the loop mirrors images (`flipFlags(seed, step)`): part of a cached embedding's key. */
  flip: boolean;
  irm: IrmConfig;
}

/** The loss terms a step logs. */
export interface MaeStepFields {
  mse: number;
  /** null when IRM is off. */
  irm: number | null;
}

/** The MAE with its step, as the training loop (and the bench) runs it. */
export interface MaeTraining extends Pick<
  TrainerModel<MaeStepFields>,
  'imageSize' | 'params' | 'state' | 'optimizer' | 'schedule' | 'step'
> {
  readonly mae: Mae;
  /** Disposes the MAE and the teacher's cached embeddings (not the teacher: its owner does). */
  dispose(): void;
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

/**
 * Builds the MAE from `root.fork('init')` and its training step: images [N,S,S,3] in [0,1] →
 * loss, gradients of every MAE parameter, and the MSE / IRM terms. `teacher` (frozen, null = IRM
 * off) embeds the real and the reconstructed batch; gradients reach the MAE through it.
 */
export function createMaeTraining(cfg: MaeStepConfig, root: Rng, teacher: FaceNet | null): MaeTraining {
  const modelCfg = resolveMaeConfig(cfg.model);
  const mae = createMae(modelCfg, root.fork('init'));
  const irmCfg: IrmConfig = cfg.irm;
  const vars = Object.values(mae.variables);
  const cache = teacher ? createTeacherCache(teacher, undefined, irmCfg.lowPass) : null;
  /**
   * The real batch's teacher embeddings [N,D], a fixed target: computed before (outside) the
   * gradient tape, and taken from the cache by (image, mirrored) when the batch names its images
   * (the teacher is frozen, so they never change).
   */
  const realEmbeddings = (t: FaceNet, x: tf.Tensor4D, batch: FaceBatch, step: number): tf.Tensor2D => {
    const n = x.shape[0];
    if (!cache || batch.records.length !== n) return teacherEmbeddings(t, x, irmCfg.lowPass);
    const flips = cfg.flip ? flipFlags(cfg.seed, step, n) : null;
    return cache.embed(
      x,
      batch.records.map((r, i) => `${flips?.[i] ? 'flip' : 'orig'}:${r.path}`),
    );
  };
  return {
    mae,
    imageSize: modelCfg.imageSize,
    params: mae.variables,
    state: mae.variables,
    optimizer: {
      kind: 'adamw',
      weightDecay: cfg.weightDecay,
      beta1: cfg.beta1,
      beta2: cfg.beta2,
      clipNorm: cfg.clipNorm,
    },
    schedule: { kind: 'cosine' },
    async step(x: tf.Tensor4D, batch: FaceBatch, step: number): Promise<StepOutput<MaeStepFields>> {
      const m = stepMasking(cfg.seed, step, x.shape[0], mae.numPatches, cfg.maskRatio);
      let mseT: tf.Scalar | null = null;
      let irmT: tf.Scalar | null = null;
      const eReal = teacher ? realEmbeddings(teacher, x, batch, step) : null;
      let out: { value: tf.Scalar; grads: tf.NamedTensorMap };
      try {
        out = tf.variableGrads(() => {
          const f = mae.forward(x, m);
          const mse = maskedMse(f.pred, f.target, f.mask);
          mseT = tf.keep(mse);
          if (!teacher || !eReal) return mse;
          const rec = mae.pasteBack(x, f);
          const irm = irmLossToTarget(teacher, eReal, rec, irmCfg);
          irmT = tf.keep(irm);
          return tf.add(mse, tf.mul(irm, irmCfg.weight)) as tf.Scalar;
        }, vars);
      } finally {
        eReal?.dispose();
      }
      const { value, grads } = out;
      const loss = (await value.data())[0] as number;
      const mse = (mseT as tf.Scalar | null)?.dataSync()[0] ?? NaN;
      const irm = irmT ? ((irmT as tf.Scalar).dataSync()[0] as number) : null;
      value.dispose();
      (mseT as tf.Scalar | null)?.dispose();
      (irmT as tf.Scalar | null)?.dispose();
      return { loss, grads, fields: { mse, irm } };
    },
    dispose: () => {
      cache?.dispose();
      mae.dispose();
    },
  };
}
