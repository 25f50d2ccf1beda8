import type { Command } from 'commander';
import type { z } from '../../config/schema.js';
import { TRAIN_MAE_SCHEMA } from '../../config/trainers.js';
import { DEFAULT_TRAIN_MAE, trainMae, type TrainMaeConfig } from '../../train/pretrain-mae.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

/** The verb's schema is the trainer's: the compiler checks it yields a TrainMaeConfig. */
const SCHEMA: z.ZodType<TrainMaeConfig> = TRAIN_MAE_SCHEMA;

const FLAGS: ConfigFlag[] = [
  {
    flag: '--data <dir>',
    key: 'data',
    help: 'training faces: identity folders (<identity>/<image>) or an insightface train.rec/.idx',
    required: true,
  },
  {
    flag: '--out <dir>',
    key: 'out',
    help: 'run folder (checkpoint, log.jsonl, samples/, config.json)',
    required: true,
  },
  {
    flag: '--irm-teacher <spec>',
    key: 'irm.teacher',
    help: "frozen FR network for IRM: 'faceplugin' | FILE.onnx | RUN_DIR",
    default: 'IRM off',
  },
  {
    flag: '--init <run>',
    key: 'init',
    help: 'start from a trained MAE (run folder or compact model, e.g. assets/models/facemae-tiny): fine-tuning',
    default: 'random weights',
  },
  { flag: '--irm-weight <x>', key: 'irm.weight', help: 'lambda of the IRM term' },
  { flag: '--mask-ratio <r>', key: 'maskRatio', help: 'fraction of patches removed' },
  {
    flag: '--steps <n>',
    key: 'steps',
    help: 'training steps (overrides --epochs)',
    default: 'from --epochs',
  },
  { flag: '--epochs <n>', key: 'epochs', help: 'training epochs' },
  { flag: '--batch-size <n>', key: 'batchSize', help: 'images per step' },
  { flag: '--lr <x>', key: 'lr', help: 'peak learning rate after warm-up' },
  { flag: '--preset <name>', key: 'model.preset', help: 'model size' },
  { flag: '--image-size <n>', key: 'model.imageSize', help: 'input side in pixels, a multiple of the patch' },
  { flag: '--seed <n>', key: 'seed', help: 'seed of weights, batch order, flips and masks' },
  { flag: '--checkpoint-every <n>', key: 'checkpointEvery', help: 'steps between checkpoints' },
  { flag: '--sample-every <n>', key: 'sampleEvery', help: 'steps between sample grids' },
];

/** The flags of `train-mae` besides the config's. */
interface TrainMaeOptions extends ConfigSources {
  steps?: number;
  epochs?: number;
  resume?: boolean;
  overwrite?: boolean;
}

export function registerTrainMae(program: Command): void {
  const verb = program
    .command('train-mae')
    .description('train the masked autoencoder (MSE on masked patches + lambda*IRM)');
  addConfigOptions(verb, SCHEMA, DEFAULT_TRAIN_MAE, FLAGS, 'irm.temperature=0.05')
    .option(
      '--resume',
      'continue the run in --out from its last checkpoint (its saved config; --steps/--epochs may change the length)',
    )
    .option('--overwrite', 'write into a non-empty --out from scratch')
    .action(async (o: TrainMaeOptions, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveVerbConfig(SCHEMA, DEFAULT_TRAIN_MAE, o, FLAGS);
      let bar: ProgressBar | undefined;
      const r = await trainMae(cfg, {
        resume: Boolean(o.resume),
        overwrite: Boolean(o.overwrite),
        // with --resume the saved config is used; an explicit --steps/--epochs changes the run length
        runLength:
          o.steps !== undefined || o.epochs !== undefined ? { steps: o.steps, epochs: o.epochs } : undefined,
        onWarning: log.warn,
        onProgress: (d, t, status) => {
          bar ??= createProgress('train-mae', t, { quiet: opts.quiet });
          bar.update(d, status);
        },
        onCheckpoint: (step, dir) => log.debug(`checkpoint at step ${step} in ${dir}`),
      });
      (bar as ProgressBar | undefined)?.finish();
      if (opts.json) printJson(r);
      else
        log.result(
          `trained ${r.steps} steps → ${r.out} (loss ${r.last?.loss.toFixed(4) ?? '?'}, mse ${r.last?.mse.toFixed(4) ?? '?'}` +
            `${r.irm ? `, irm ${r.last?.irm?.toFixed(4)}` : ', IRM off'})`,
        );
    });
}
