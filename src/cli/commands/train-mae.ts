import type { Command } from 'commander';
import type { DeepPartial } from '../../config/resolve.js';
import { DEFAULT_TRAIN_MAE, trainMae, type TrainMaeConfig } from '../../train/pretrain-mae.js';
import type { MaePresetName } from '../../models/mae/config.js';
import {
  byDefault,
  collect,
  contextOf,
  resolveCommandConfig,
  parseInteger,
  parseNumber,
} from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

/** The flags of `train-mae`, as commander parses them (undefined: not given). */
interface TrainMaeFlags {
  data?: string;
  out?: string;
  irmTeacher?: string;
  init?: string;
  irmWeight?: number;
  maskRatio?: number;
  steps?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  preset?: MaePresetName;
  imageSize?: number;
  seed?: number;
  checkpointEvery?: number;
  sampleEvery?: number;
  config?: string;
  set?: string[];
  resume?: boolean;
  overwrite?: boolean;
}

export function registerTrainMae(program: Command): void {
  const D = DEFAULT_TRAIN_MAE;
  program
    .command('train-mae')
    .description('train the masked autoencoder (MSE on masked patches + lambda*IRM)')
    .requiredOption(
      '--data <dir>',
      '[string] training faces: identity folders (<identity>/<image>) or an insightface train.rec/.idx',
    )
    .requiredOption('--out <dir>', '[string] run folder (checkpoint, log.jsonl, samples/, config.json)')
    .option(
      '--irm-teacher <spec>',
      "[string] frozen FR network for IRM: 'faceplugin' | FILE.onnx | RUN_DIR (default: IRM off)",
    )
    .option(
      '--init <run>',
      '[string] start from a trained MAE (run folder or compact model, e.g. assets/models/facemae-tiny): fine-tuning',
    )
    .option(
      '--irm-weight <x>',
      `[number] lambda of the IRM term ${byDefault(D.irm.weight)}`,
      parseNumber('--irm-weight'),
    )
    .option(
      '--mask-ratio <r>',
      `[number] fraction of patches removed ${byDefault(D.maskRatio)}`,
      parseNumber('--mask-ratio'),
    )
    .option('--steps <n>', '[integer] training steps (overrides --epochs)', parseInteger('--steps'))
    .option('--epochs <n>', `[number] training epochs ${byDefault(D.epochs)}`, parseNumber('--epochs'))
    .option(
      '--batch-size <n>',
      `[integer] images per step ${byDefault(D.batchSize)}`,
      parseInteger('--batch-size'),
    )
    .option('--lr <x>', `[number] peak learning rate after warm-up ${byDefault(D.lr)}`, parseNumber('--lr'))
    .option('--preset <name>', `[string] model size: tiny | small | base ${byDefault(D.model.preset)}`)
    .option(
      '--image-size <n>',
      `[integer] input side in pixels, a multiple of the patch ${byDefault(D.model.imageSize)}`,
      parseInteger('--image-size'),
    )
    .option(
      '--seed <n>',
      `[integer] seed of weights, batch order, flips and masks ${byDefault(D.seed)}`,
      parseInteger('--seed'),
    )
    .option(
      '--checkpoint-every <n>',
      `[integer] steps between checkpoints ${byDefault(D.checkpointEvery)}`,
      parseInteger('--checkpoint-every'),
    )
    .option(
      '--sample-every <n>',
      `[integer] steps between sample grids ${byDefault(D.sampleEvery)}`,
      parseInteger('--sample-every'),
    )
    .option('--config <file>', '[string] JSON config (flags win)')
    .option(
      '--set <key=value>',
      '[string] dotted override, e.g. --set irm.temperature=0.05 (repeatable)',
      collect,
    )
    .option(
      '--resume',
      'continue the run in --out from its last checkpoint (its saved config; --steps/--epochs may change the length)',
    )
    .option('--overwrite', 'write into a non-empty --out from scratch')
    .action(async (o: TrainMaeFlags, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const flags: DeepPartial<TrainMaeConfig> = {
        data: o.data,
        out: o.out,
        init: o.init,
        maskRatio: o.maskRatio,
        steps: o.steps,
        epochs: o.epochs,
        batchSize: o.batchSize,
        lr: o.lr,
        seed: o.seed,
        checkpointEvery: o.checkpointEvery,
        sampleEvery: o.sampleEvery,
        irm: { teacher: o.irmTeacher, weight: o.irmWeight },
        model: { preset: o.preset, imageSize: o.imageSize },
      };
      const cfg = resolveCommandConfig<TrainMaeConfig>(DEFAULT_TRAIN_MAE, o, flags);
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
