import type { Command } from 'commander';
import type { z } from '../../config/schema.js';
import { TRAIN_FR_SCHEMA } from '../../config/trainers.js';
import { FaceMaeError } from '../../core/errors.js';
import { MARGIN_PRESETS, type MarginPreset } from '../../losses/margin.js';
import { DEFAULT_TRAIN_FR, trainFaceRecognizer, type TrainFrConfig } from '../../train/train-face.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

/** The verb's schema is the trainer's: the compiler checks it yields a TrainFrConfig. */
const SCHEMA: z.ZodType<TrainFrConfig> = TRAIN_FR_SCHEMA;

const FLAGS: ConfigFlag[] = [
  {
    flag: '--data <dir>',
    key: 'data',
    help: 'aligned 112×112 faces: identity folders <dir>/<identity>/<image> or a train.rec/.idx',
  },
  {
    flag: '--out <dir>',
    key: 'out',
    help: 'run folder (checkpoint, log.jsonl, verification.jsonl, config.json)',
    required: true,
  },
  { flag: '--backbone <name>', key: 'backbone', help: 'network' },
  {
    flag: '--init <model>',
    key: 'init',
    help: "fine-tune from these backbone weights: 'mobileface' (with --backbone mobileface) or a train-fr run folder",
    default: 'random',
  },
  {
    flag: '--loss <preset>',
    key: 'margin',
    help: 'margin preset',
    choices: Object.keys(MARGIN_PRESETS),
    map: (p) => ({ ...MARGIN_PRESETS[p as MarginPreset] }),
    default: 'arcface',
  },
  { flag: '--epochs <n>', key: 'epochs', help: 'epochs' },
  {
    flag: '--steps <n>',
    key: 'steps',
    help: 'optimizer steps (wins over --epochs)',
    default: 'from --epochs',
  },
  { flag: '--batch-size <n>', key: 'batchSize', help: 'images per step' },
  { flag: '--lr <x>', key: 'lr', help: 'peak learning rate' },
  { flag: '--optimizer <name>', key: 'optimizer', help: 'optimizer' },
  {
    flag: '--verify <spec>',
    key: 'verify',
    help: 'verification set scored during/after training, e.g. lfw:DIR',
  },
  {
    flag: '--verify-every <n>',
    key: 'verifyEvery',
    help: 'steps between verifications',
    default: '0 = at the end',
  },
  { flag: '--seed <n>', key: 'seed', help: 'seed of weights, batch order and flips' },
];

/** The flags of `train-fr` besides the config's. */
interface TrainFrOptions extends ConfigSources {
  steps?: number;
  epochs?: number;
  resume?: boolean;
  overwrite?: boolean;
}

export function registerTrainFr(program: Command): void {
  const verb = program
    .command('train-fr')
    .description(
      'train a face-recognition model with an ArcFace-style margin loss (insightface arcface_torch recipe)',
    );
  addConfigOptions(verb, SCHEMA, DEFAULT_TRAIN_FR, FLAGS, 'margin.m2=0.4')
    .option('--resume', 'continue the run in --out from its checkpoint')
    .option('--overwrite', 'start over in a non-empty --out')
    .action(async (o: TrainFrOptions, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveVerbConfig(SCHEMA, DEFAULT_TRAIN_FR, o, FLAGS);
      if (!cfg.data && !o.resume)
        throw new FaceMaeError(
          '--data <dir> is required (or "data" in --config), except with --resume',
          'E_CONFIG',
          {
            key: 'data',
          },
        );
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
