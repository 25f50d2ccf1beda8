import type { Command } from 'commander';
import type { DeepPartial } from '../../config/resolve.js';
import { FaceMaeError } from '../../core/errors.js';
import { MARGIN_PRESETS, type MarginPreset } from '../../losses/margin.js';
import { BACKBONE_NAMES } from '../../models/backbones/index.js';
import { DEFAULT_TRAIN_FR, trainFaceRecognizer, type TrainFrConfig } from '../../train/train-face.js';
import type { OptimizerKind } from '../../train/optimizer.js';
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

/** The flags of `train-fr`, as commander parses them (undefined: not given). */
interface TrainFrFlags {
  data?: string;
  out?: string;
  backbone?: string;
  loss?: string;
  epochs?: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: string;
  verify?: string[];
  verifyEvery?: number;
  seed?: number;
  init?: string;
  config?: string;
  set?: string[];
  resume?: boolean;
  overwrite?: boolean;
}

export function registerTrainFr(program: Command): void {
  const D = DEFAULT_TRAIN_FR;
  program
    .command('train-fr')
    .description(
      'train a face-recognition model with an ArcFace-style margin loss (insightface arcface_torch recipe)',
    )
    .option(
      '--data <dir>',
      '[string] aligned 112×112 faces: identity folders <dir>/<identity>/<image> or a train.rec/.idx',
    )
    .option('--out <dir>', '[string] run folder (checkpoint, log.jsonl, verification.jsonl, config.json)')
    .option('--backbone <name>', `[string] ${BACKBONE_NAMES.join('|')} ${byDefault(D.backbone)}`)
    .option(
      '--init <model>',
      "[string] fine-tune from these backbone weights: 'mobileface' (with --backbone mobileface) or a train-fr run folder (default: random)",
    )
    .option(
      '--loss <preset>',
      `[string] ${Object.keys(MARGIN_PRESETS).join('|')} margin preset (default: arcface)`,
    )
    .option('--epochs <n>', `[number] epochs ${byDefault(D.epochs)}`, parseNumber('--epochs'))
    .option('--steps <n>', '[integer] optimizer steps (wins over --epochs)', parseInteger('--steps'))
    .option('--batch-size <n>', `[integer] ${byDefault(D.batchSize)}`, parseInteger('--batch-size'))
    .option('--lr <x>', `[number] peak learning rate ${byDefault(D.lr)}`, parseNumber('--lr'))
    .option('--optimizer <name>', `[string] sgd|adamw ${byDefault(D.optimizer)}`)
    .option(
      '--verify <spec>',
      '[string] verification set scored during/after training, e.g. lfw:DIR (repeatable)',
      collect,
    )
    .option(
      '--verify-every <n>',
      `[integer] steps between verifications ${byDefault(D.verifyEvery, ' = at the end')}`,
      parseInteger('--verify-every'),
    )
    .option('--seed <n>', `[integer] ${byDefault(D.seed)}`, parseInteger('--seed'))
    .option('--config <file>', '[string] JSON config (flags win)')
    .option('--set <key=value>', '[string] override any config key, e.g. margin.m2=0.4 (repeatable)', collect)
    .option('--resume', 'continue the run in --out from its checkpoint')
    .option('--overwrite', 'start over in a non-empty --out')
    .action(async (o: TrainFrFlags, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const preset = o.loss;
      if (preset !== undefined && !(preset in MARGIN_PRESETS)) {
        throw new FaceMaeError(
          `--loss must be one of ${Object.keys(MARGIN_PRESETS).join(', ')}, got "${preset}"`,
        );
      }
      const optimizer = o.optimizer;
      if (optimizer !== undefined && optimizer !== 'sgd' && optimizer !== 'adamw') {
        throw new FaceMaeError(`--optimizer must be sgd or adamw, got "${optimizer}"`);
      }
      const flags: DeepPartial<TrainFrConfig> = {
        data: o.data,
        out: o.out,
        backbone: o.backbone,
        margin: preset ? { ...MARGIN_PRESETS[preset as MarginPreset] } : undefined,
        epochs: o.epochs,
        steps: o.steps,
        batchSize: o.batchSize,
        lr: o.lr,
        optimizer: optimizer as OptimizerKind | undefined,
        verify: o.verify,
        verifyEvery: o.verifyEvery,
        seed: o.seed,
        init: o.init,
      };
      const cfg = resolveCommandConfig<TrainFrConfig>(DEFAULT_TRAIN_FR, o, flags);
      if (!cfg.out) throw new FaceMaeError('--out <dir> is required');
      if (!cfg.data && !o.resume) throw new FaceMaeError('--data <dir> is required');
      let bar: ProgressBar | undefined;
      const res = await trainFaceRecognizer(cfg, {
        resume: Boolean(o.resume),
        runLength:
          o.steps !== undefined || o.epochs !== undefined ? { steps: o.steps, epochs: o.epochs } : undefined,
        overwrite: Boolean(o.overwrite),
        onWarning: log.warn,
        onProgress: (d, t, status) => {
          bar ??= createProgress('train-fr', t, { quiet: opts.quiet });
          bar.update(d, status);
        },
        onVerify: (v) =>
          log.info(
            `step ${v.step} ${v.set}: ${(100 * v.accuracy).toFixed(2)}% ± ${(100 * v.std).toFixed(2)} (${v.pairs} pairs)`,
          ),
      });
      (bar as ProgressBar | undefined)?.finish();
      if (opts.json) printJson(res);
      else {
        const l = res.last;
        log.result(
          `trained ${res.steps} steps into ${res.out}${l ? `: loss ${l.loss.toFixed(3)}, train acc ${(100 * l.acc).toFixed(1)}%` : ''}`,
        );
        for (const v of res.verification.filter((x) => x.step === res.steps)) {
          log.result(
            `${v.set}: ${(100 * v.accuracy).toFixed(2)}% ± ${(100 * v.std).toFixed(2)}, TAR@FAR=1e-3 ${(100 * v.tar).toFixed(2)}%`,
          );
        }
      }
    });
}
