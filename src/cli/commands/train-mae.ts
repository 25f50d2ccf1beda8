import type { Command } from 'commander';
import { parseDottedOverrides, resolveConfig, type DeepPartial } from '../../config/resolve.js';
import { DEFAULT_TRAIN_MAE, trainMae, type TrainMaeConfig } from '../../train/pretrain-mae.js';
import type { MaePresetName } from '../../models/mae/config.js';
import { collect, contextOf, parseInteger, parseNumber } from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

export function registerTrainMae(program: Command): void {
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
    .option('--irm-weight <x>', '[number] lambda of the IRM term (default: 1)', parseNumber('--irm-weight'))
    .option(
      '--mask-ratio <r>',
      '[number] fraction of patches removed (default: 0.75)',
      parseNumber('--mask-ratio'),
    )
    .option('--steps <n>', '[integer] training steps (overrides --epochs)', parseInteger('--steps'))
    .option('--epochs <n>', '[number] training epochs (default: 10)', parseNumber('--epochs'))
    .option('--batch-size <n>', '[integer] images per step (default: 32)', parseInteger('--batch-size'))
    .option('--lr <x>', '[number] peak learning rate after warm-up (default: 1e-3)', parseNumber('--lr'))
    .option('--preset <name>', '[string] model size: tiny | small | base (default: tiny)')
    .option(
      '--image-size <n>',
      '[integer] input side in pixels, a multiple of the patch (default: 112)',
      parseInteger('--image-size'),
    )
    .option(
      '--seed <n>',
      '[integer] seed of weights, batch order, flips and masks (default: 0)',
      parseInteger('--seed'),
    )
    .option(
      '--checkpoint-every <n>',
      '[integer] steps between checkpoints (default: 200)',
      parseInteger('--checkpoint-every'),
    )
    .option(
      '--sample-every <n>',
      '[integer] steps between sample grids (default: 200)',
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
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const sets = parseDottedOverrides((o.set as string[] | undefined) ?? []) as DeepPartial<TrainMaeConfig>;
      const flags: DeepPartial<TrainMaeConfig> = {
        data: o.data as string,
        out: o.out as string,
        init: o.init as string | undefined,
        maskRatio: o.maskRatio as number | undefined,
        steps: o.steps as number | undefined,
        epochs: o.epochs as number | undefined,
        batchSize: o.batchSize as number | undefined,
        lr: o.lr as number | undefined,
        seed: o.seed as number | undefined,
        checkpointEvery: o.checkpointEvery as number | undefined,
        sampleEvery: o.sampleEvery as number | undefined,
        irm: { teacher: o.irmTeacher as string | undefined, weight: o.irmWeight as number | undefined },
        model: {
          preset: o.preset as MaePresetName | undefined,
          imageSize: o.imageSize as number | undefined,
        },
      };
      const fromFlags = resolveConfig<TrainMaeConfig>({
        defaults: DEFAULT_TRAIN_MAE,
        configFile: o.config as string | undefined,
        flags,
      });
      const cfg = resolveConfig<TrainMaeConfig>({
        defaults: DEFAULT_TRAIN_MAE,
        fileConfig: fromFlags,
        flags: sets,
      });
      let bar: ProgressBar | undefined;
      const r = await trainMae(cfg, {
        resume: Boolean(o.resume),
        overwrite: Boolean(o.overwrite),
        // with --resume the saved config is used; an explicit --steps/--epochs changes the run length
        runLength:
          o.steps !== undefined || o.epochs !== undefined
            ? { steps: o.steps as number | undefined, epochs: o.epochs as number | undefined }
            : undefined,
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
