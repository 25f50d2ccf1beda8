import type { Command } from 'commander';
import path from 'node:path';
import { int, num, posInt, str, z } from '../../config/schema.js';
import {
  distortDataset,
  validateDistortConfig,
  type DistortDatasetConfig,
} from '../../protect/distort-dataset.js';
import { DISTORTION_METHODS } from '../../protect/distortions.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';
import { addQueueOptions, runQueuedWithProgress, type QueueFlags } from '../queue-progress.js';

/** Types and keys; the ranges of each method's strength are validateDistortConfig's. */
const SCHEMA: z.ZodType<DistortDatasetConfig> = z.strictObject({
  method: z.enum(DISTORTION_METHODS),
  strength: num(),
  data: str(),
  out: str(),
  seed: int(),
  patchSize: posInt().optional(),
  fill: int().optional(),
  size: posInt().optional(),
  allowNoProtection: z.boolean().optional(),
});

const DEFAULTS: DistortDatasetConfig = { method: 'mask', strength: 0.75, data: '', out: '', seed: 0 };

const FLAGS: ConfigFlag[] = [
  { flag: '--method <name>', key: 'method', help: 'protection' },
  {
    flag: '--strength <x>',
    key: 'strength',
    help: 'mask: ratio in [0,1); blur: Gaussian sigma px; pixelate: block px; noise: std in [0,255]; pixnoise: block px',
  },
  {
    flag: '--data <dir>',
    key: 'data',
    help: 'input identity folders <dir>/<identity>/<image> or a .rec/.idx',
    required: true,
  },
  { flag: '--out <dir>', key: 'out', help: 'output folder (same layout)', required: true },
  { flag: '--seed <n>', key: 'seed', help: 'seed for mask/noise' },
  { flag: '--patch-size <n>', key: 'patchSize', help: 'mask patch side in px', default: '16' },
  { flag: '--fill <v>', key: 'fill', help: 'mask: value of removed pixels, 0..255', default: '128 gray' },
  { flag: '--size <n>', key: 'size', help: 'resize inputs to n×n first', default: "the first image's side" },
  {
    flag: '--allow-no-protection',
    key: 'allowNoProtection',
    help: 'write the output even when the setting leaves the images unchanged (e.g. --strength 0)',
  },
];

export function registerDistort(program: Command): void {
  const verb = program.command('distort');
  addQueueOptions(verb);
  verb.description(
    'baseline protections of a dataset: mask (MAE patch masking, no reconstruction), blur, pixelate, noise, pixnoise',
  );
  addConfigOptions(verb, SCHEMA, DEFAULTS, FLAGS, 'fill=0')
    .option('--resume', 'continue an interrupted output')
    .option('--overwrite', 'write over a non-empty output')
    .action(async (o: QueueFlags & ConfigSources, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveVerbConfig(SCHEMA, DEFAULTS, o, FLAGS);
      validateDistortConfig(cfg);
      if (o.queue) {
        const q = await runQueuedWithProgress('distort', { ...o, queue: o.queue }, log, opts.quiet, {
          out: cfg.out,
          task: {
            kind: 'distort',
            config: { ...cfg, data: path.resolve(cfg.data), out: path.resolve(cfg.out) },
          },
        });
        if (opts.json) printJson({ ...q, config: cfg });
        else
          log.result(
            `${cfg.method} ${cfg.strength}: wrote ${q.written} of ${q.images} images in ${q.shards} shards (${q.errors.length} unreadable) in ${q.out}`,
          );
        return;
      }
      let bar: ProgressBar | undefined;
      const res = await distortDataset(cfg, {
        resume: Boolean(o.resume),
        overwrite: Boolean(o.overwrite),
        onWarning: log.warn,
        onProgress: (d, t) => {
          bar ??= createProgress('distort', t, { quiet: opts.quiet });
          if (d < t) bar.update(d);
          else bar.finish();
        },
      });
      if (opts.json) printJson({ ...res, config: cfg });
      else
        log.result(
          `${cfg.method} ${cfg.strength}: wrote ${res.written}, kept ${res.skipped} of ${res.images} images in ${res.out}`,
        );
    });
}
