/**
 * The one training loop both trainers run (minGPT's model-agnostic `Trainer` with named
 * callbacks; facebookresearch/mae's per-iteration LR and stop-on-NaN). It owns everything that is
 * not the model or its loss:
 * - the out-folder and resume policy (a resumed run continues from its checkpoint with its saved
 *   config; `runLength` may change the length, the schedule is then recomputed for it),
 * - the run length (`steps`, else `epochs` × whole batches per epoch),
 * - the learning-rate schedule (warm-up then cosine/poly, evaluated per step),
 * - the batches (`resumableBatches`: a function of (seed, step), so resume is bit-identical),
 * - the NaN guard, the throughput window, the JSON-lines log (`log.jsonl`),
 * - atomic checkpoints (weights, optimizer slots, step, Rng, resolved config, metadata with the
 *   dataset's fingerprint: a resume on other data is refused),
 * - `config.json` (the resolved config, rewritten on resume as the run length may change),
 * - hooks: onStep, onCheckpoint, onProgress, onWarning, and the model's periodic jobs (sample
 *   grids, verification) at their cadence and once at the end.
 *
 * A trainer (pretrain-mae.ts, train-face.ts) gives a `TrainerTask`: how to build its model for
 * the resolved config, and one step's loss and gradients.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf, initEngine, type BackendName } from '../engine/backend.js';
import { createRng, type Rng } from '../core/rng.js';
import { FaceMaeError } from '../core/errors.js';
import { prepareOutDir } from '../core/fs.js';
import { saveResolvedConfig } from '../config/resolve.js';
import { openFaceSource, sourceRecords } from '../data/source.js';
import type { FaceSource } from '../data/face-source.js';
import type { FaceBatch, FaceRecord, OnProgress } from '../types.js';
import { createOptimizer, type OptimizerConfig, type TrainOptimizer } from './optimizer.js';
import { createSchedule, type ScheduleKind } from './schedule.js';
import {
  assignWeights,
  disposeCheckpoint,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointData,
} from '../data/checkpoint.js';
import { appendLogLine, resumableBatches, trimLog } from './resumable.js';
import { checkResumeDataset, datasetFingerprint, type DatasetFingerprint } from './dataset-fingerprint.js';

/** The config keys every trainer has (the rest is its model's and loss's). */
export interface TrainerConfig {
  /** Training faces: an identity folder (<identity>/<image>) or an insightface train.rec/.idx (file, folder or prefix). */
  data: string;
  /** Output run folder (checkpoint, log.jsonl, config.json, and the trainer's own files). */
  out: string;
  /** Run length: `steps` wins when given; otherwise `epochs` × batches per epoch. */
  steps: number | null;
  epochs: number | null;
  batchSize: number;
  /** Peak learning rate (after warm-up). */
  lr: number;
  minLr: number;
  /** Warm-up length as a fraction of the run. */
  warmupFraction: number;
  /** Random horizontal flips (a function of (seed, step)). */
  flip: boolean;
  seed: number;
  logEvery: number;
  checkpointEvery: number;
  backend: BackendName;
}

/** A new run length for a resumed run (e.g. to extend a finished one). */
export interface RunLength {
  steps?: number | null;
  epochs?: number | null;
}

/** What every step log line holds; a trainer adds its own fields between `loss` and `gradNorm`. */
export interface BaseStepLog {
  step: number;
  /** Epochs completed after this step (step / batches per epoch). */
  epoch: number;
  lr: number;
  loss: number;
  gradNorm: number;
  /** Images per second over the current logging window. */
  imgPerSec: number;
}

export interface TrainerHooks<L> {
  onProgress?: OnProgress;
  /** After every step (throwing here aborts the run, as a kill would, without a checkpoint). */
  onStep?: (log: L) => void;
  onCheckpoint?: (step: number, dir: string) => void;
  onWarning?: (message: string) => void;
  /** Continue from the checkpoint in `out` (its saved config is used, but for `runLength`). */
  resume?: boolean;
  /** Allow writing into a non-empty `out` from scratch. */
  overwrite?: boolean;
  /** On resume: a new run length; the schedule is recomputed for it. */
  runLength?: RunLength;
}

/** The training set as the trainer opened it: an identity folder or a .rec/.idx pair. */
export interface TrainingSet {
  source: FaceSource;
  /** Record i of the source (no decoding). */
  records: FaceRecord[];
  /** identities[label]: folder names (sorted), or label numbers for a .rec. */
  identities: string[];
}

/** One step's result from the model: the loss, its gradients (the trainer applies and disposes them). */
export interface StepOutput<F> {
  loss: number;
  grads: tf.NamedTensorMap;
  /** Per-step log fields (e.g. the loss terms). */
  fields: Partial<F>;
  /** Per-step values logged as their image-weighted mean over the logging window (e.g. accuracy). */
  means?: Partial<Record<keyof F, number>>;
}

/** A job run every `every` steps (0: only at the end) and once after the last step (`final`). */
export interface PeriodicJob {
  every: number;
  run(step: number, final: boolean): Promise<void>;
}

/** A built model, as the loop needs it. */
export interface TrainerModel<F> {
  /** Square image side the batches are read at. */
  imageSize: number;
  /** Trainable parameters (the optimizer's). */
  params: Record<string, tf.Variable>;
  /** Everything saved and restored by name (parameters and buffers). */
  state: Record<string, tf.Variable>;
  optimizer: Partial<OptimizerConfig> & Pick<OptimizerConfig, 'kind'>;
  schedule: { kind: ScheduleKind; power?: number };
  /** Checkpoint metadata (what loads the run later: model config, identities, ...). */
  meta: Record<string, unknown>;
  /** images [N,S,S,3] (the loop disposes them) -> loss and gradients of the step. */
  step(images: tf.Tensor4D, batch: FaceBatch, step: number): Promise<StepOutput<F>>;
  /** The progress-bar status of a logged step. */
  describe(log: BaseStepLog & F): string;
  periodic?: PeriodicJob[];
  dispose(): void;
}

export interface TrainerTask<C extends TrainerConfig, F> {
  /** The command saved in config.json ('train-mae', 'train-fr'). */
  command: string;
  /** The library function's name, for errors ("trainMae needs ..."). */
  name: string;
  /** Other JSON-lines files of the run keyed by `step` (trimmed on resume, removed on a fresh run). */
  logs?: string[];
  /** Checks/completes the resolved config before the data is read (e.g. a fine-tuning source's model). */
  prepare?(cfg: C, ctx: { resuming: boolean }): C;
  /** Checks the training set (e.g. enough identities). */
  checkSet?(set: TrainingSet, cfg: C): void;
  /**
   * Builds the model for the resolved config. When resuming, the loop assigns the checkpoint's
   * weights to `state` afterwards; `root` is the run's Rng (fork it by name).
   */
  build(cfg: C, ctx: { set: TrainingSet; root: Rng; resuming: boolean }): Promise<TrainerModel<F>>;
}

export interface TrainerResult<C, L> {
  /** The resolved config the run used (the saved one when resumed). */
  config: C;
  out: string;
  steps: number;
  /** Last step's log. */
  last: L | null;
}

/** A step's result once the optimizer has applied its gradients (they are disposed by then). */
export interface AppliedStep<F> extends Omit<StepOutput<F>, 'grads'> {
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
}

/**
 * One training step as the loop runs it, less the data loading: the model's loss and gradients
 * for `images` [N,S,S,3], the NaN guard, the optimizer update at `lr` (clip + AdamW/SGD). The
 * gradients are disposed; `images` are not. `npm run bench` times this same function.
 */
export async function trainStep<F>(
  m: Pick<TrainerModel<F>, 'step'>,
  o: TrainOptimizer,
  images: tf.Tensor4D,
  batch: FaceBatch,
  step: number,
  lr: number,
): Promise<AppliedStep<F>> {
  const r = await m.step(images, batch, step);
  const where = `at step ${step}; batch: ${batch.records.map((b) => b.path).join(', ')}`;
  try {
    if (!Number.isFinite(r.loss)) {
      const terms = Object.entries(r.fields)
        .filter(([, v]) => typeof v === 'number')
        .map(([k, v]) => `${k}=${v as number}`)
        .join(' ');
      throw new FaceMaeError(
        `non-finite loss (${r.loss})${terms ? ` (${terms})` : ''} ${where}. Lower lr or check these images`,
        'E_NAN',
      );
    }
    const gradNorm = o.step(r.grads, lr).gradNorm;
    if (!Number.isFinite(gradNorm))
      throw new FaceMaeError(`non-finite gradient norm ${where}. Lower lr`, 'E_NAN');
    return { loss: r.loss, fields: r.fields, ...(r.means ? { means: r.means } : {}), gradNorm };
  } finally {
    tf.dispose(Object.values(r.grads));
  }
}

/** Batches per epoch (last incomplete batch dropped). */
export function batchesPerEpoch(numImages: number, batchSize: number): number {
  return Math.floor(numImages / batchSize);
}

/** Total steps of a run: `steps` when given, else `epochs` × `perEpoch` (at least 1). */
export function resolveRunSteps(cfg: Pick<TrainerConfig, 'steps' | 'epochs'>, perEpoch: number): number {
  if (cfg.steps !== null && cfg.steps !== undefined) {
    if (!(Number.isInteger(cfg.steps) && cfg.steps > 0))
      throw new FaceMaeError(`steps must be a positive integer, got ${cfg.steps}`, 'E_CONFIG');
    return cfg.steps;
  }
  if (!(cfg.epochs && cfg.epochs > 0))
    throw new FaceMaeError(`give steps or epochs > 0 (got epochs=${cfg.epochs})`, 'E_CONFIG');
  return Math.max(1, Math.round(cfg.epochs * perEpoch));
}

/** The config a resumed run continues with: the saved one, `data`/`out` as given, and a new run length. */
function resumedConfig<C extends TrainerConfig>(
  given: C,
  saved: C | undefined,
  runLength: RunLength | undefined,
  onWarning?: (m: string) => void,
): C {
  let cfg = saved ? { ...saved, data: given.data || saved.data, out: given.out } : given;
  if (runLength) {
    const steps = runLength.steps ?? null;
    const epochs = runLength.epochs ?? cfg.epochs;
    if (steps !== cfg.steps || epochs !== cfg.epochs) {
      const was = cfg.steps ?? `${cfg.epochs} epochs`;
      onWarning?.(
        `resuming with a new run length: ${steps ?? `${epochs} epochs`}${steps ? ' steps' : ''} (was ${was})`,
      );
    }
    cfg = { ...cfg, steps, epochs };
  }
  return cfg;
}

/** Runs a training task to the end (or from its checkpoint to the end) and writes the run folder. */
export async function runTrainer<C extends TrainerConfig, F extends object>(
  config: C,
  task: TrainerTask<C, F>,
  hooks: TrainerHooks<BaseStepLog & F> = {},
): Promise<TrainerResult<C, BaseStepLog & F>> {
  type L = BaseStepLog & F;
  if (!config.out) throw new FaceMaeError(`${task.name} needs an output folder (out)`, 'E_CONFIG');
  const resuming = Boolean(hooks.resume && hasCheckpoint(config.out));
  if (hooks.resume && !resuming)
    hooks.onWarning?.(`resume: no checkpoint in ${config.out} yet, starting from scratch`);
  prepareOutDir(config.out, { resume: hooks.resume, overwrite: hooks.overwrite });
  await initEngine({ backend: config.backend });

  let cfg = config;
  let ckpt: CheckpointData | undefined;
  let startStep = 0;
  if (resuming) {
    ckpt = loadCheckpoint(config.out);
    cfg = resumedConfig(config, ckpt.config as C | undefined, hooks.runLength, hooks.onWarning);
    startStep = ckpt.step;
  }
  let model: TrainerModel<F> | undefined;
  let opt: TrainOptimizer | undefined;
  let source: FaceSource | undefined;
  try {
    if (!cfg.data) throw new FaceMaeError(`${task.name} needs a data folder (data)`, 'E_CONFIG');
    cfg = task.prepare ? task.prepare(cfg, { resuming }) : cfg;
    source = await openFaceSource(cfg.data, { onWarning: hooks.onWarning });
    const src = source;
    const set: TrainingSet = { source: src, records: sourceRecords(src), identities: src.identities };
    const dataset = datasetFingerprint(cfg.data, set.records);
    if (ckpt) checkResumeDataset(cfg.out, ckpt.meta?.dataset as DatasetFingerprint | undefined, dataset);
    task.checkSet?.(set, cfg);
    const perEpoch = batchesPerEpoch(set.records.length, cfg.batchSize);
    if (perEpoch < 1) {
      throw new FaceMaeError(
        `${cfg.data} has ${set.records.length} images, fewer than one batch of ${cfg.batchSize}: lower batchSize`,
        'E_EMPTY',
      );
    }
    const totalSteps = resolveRunSteps(cfg, perEpoch);
    saveResolvedConfig(cfg.out, task.command, cfg);

    const root = createRng(cfg.seed);
    model = await task.build(cfg, { set, root, resuming });
    opt = createOptimizer(model.params, model.optimizer);
    if (ckpt) {
      assignWeights(model.state, ckpt.weights, path.join(cfg.out, 'checkpoint.json'));
      if (ckpt.optimizer) opt.setState(ckpt.optimizer);
      disposeCheckpoint(ckpt);
      ckpt = undefined;
    }
    const schedule = createSchedule({
      kind: model.schedule.kind,
      baseLr: cfg.lr,
      minLr: Math.min(cfg.minLr, cfg.lr),
      warmupSteps: Math.min(totalSteps, Math.round(cfg.warmupFraction * totalSteps)),
      totalSteps,
      ...(model.schedule.power !== undefined ? { power: model.schedule.power } : {}),
    });
    const logFile = path.join(cfg.out, 'log.jsonl');
    for (const f of [logFile, ...(task.logs ?? []).map((l) => path.join(cfg.out, l))]) {
      if (resuming) trimLog(f, startStep);
      else fs.rmSync(f, { force: true });
    }

    const m = model;
    const o = opt;
    const out = cfg.out;
    const save = async (step: number) => {
      const st = o.getState();
      try {
        await saveCheckpoint(out, {
          step,
          weights: m.state,
          optimizer: st,
          rng: { root: root.getState() },
          config: cfg,
          meta: { ...m.meta, dataset },
        });
      } finally {
        tf.dispose(Object.values(st.slots));
      }
      hooks.onCheckpoint?.(step, out);
    };

    let step = startStep;
    let last: L | null = null;
    let windowStart = performance.now();
    let windowImgs = 0;
    let windowSums: Record<string, number> = {};
    for await (const { images: x, batch } of resumableBatches(set.source, {
      seed: cfg.seed,
      startStep: step,
      perEpoch,
      totalSteps,
      batchSize: cfg.batchSize,
      size: m.imageSize,
      flip: cfg.flip,
      onWarning: hooks.onWarning,
    })) {
      const n = x.shape[0];
      const lr = schedule.lrAt(step);
      let r: AppliedStep<F>;
      try {
        r = await trainStep(m, o, x, batch, step, lr);
      } finally {
        x.dispose();
      }
      const { gradNorm } = r;
      step += 1;
      windowImgs += n;
      const means: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.means ?? {}) as [string, number][]) {
        windowSums[k] = (windowSums[k] ?? 0) + v * n;
        means[k] = (windowSums[k] as number) / windowImgs;
      }
      const now = performance.now();
      const imgPerSec = (windowImgs * 1000) / Math.max(1, now - windowStart);
      last = {
        step,
        epoch: step / perEpoch,
        lr,
        loss: r.loss,
        ...r.fields,
        ...means,
        gradNorm,
        imgPerSec,
      } as L;
      if (step % cfg.logEvery === 0 || step === totalSteps) {
        appendLogLine(logFile, last);
        windowStart = now;
        windowImgs = 0;
        windowSums = {};
      }
      hooks.onProgress?.(step, totalSteps, m.describe(last));
      hooks.onStep?.(last);
      if (step % cfg.checkpointEvery === 0 && step < totalSteps) await save(step);
      for (const job of m.periodic ?? [])
        if (job.every > 0 && step % job.every === 0 && step < totalSteps) await job.run(step, false);
    }
    await save(step);
    for (const job of m.periodic ?? []) await job.run(step, true);
    return { config: cfg, out: cfg.out, steps: step, last };
  } finally {
    if (ckpt) disposeCheckpoint(ckpt);
    opt?.dispose();
    model?.dispose();
    await source?.close();
  }
}
