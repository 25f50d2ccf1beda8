import type { Command } from 'commander';
import { resolveConfig } from '../../config/resolve.js';
import {
  DISTORT_CONFIG_KEYS,
  distortDataset,
  validateDistortConfig,
  type DistortDatasetConfig,
} from '../../protect/distort-dataset.js';
import { DISTORTION_METHODS, type DistortionMethod } from '../../protect/distortions.js';
import { contextOf, parseInteger, parseNumber } from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';
import path from 'node:path';
import { addQueueOptions, runQueuedWithProgress } from '../queue-progress.js';

const DEFAULTS: DistortDatasetConfig = { method: 'mask', strength: 0.75, data: '', out: '', seed: 0 };

export function registerDistort(program: Command): void {
  const verb = program.command('distort');
  addQueueOptions(verb);
  verb
    .description(
      'baseline protections of a dataset: mask (MAE patch masking, no reconstruction), blur, pixelate, noise',
    )
    .option('--method <name>', `[string] ${DISTORTION_METHODS.join('|')} (default: mask)`)
    .option(
      '--strength <x>',
      '[number] mask: ratio in [0,1); blur: Gaussian sigma px; pixelate: block px; noise: std in [0,255] (default: 0.75)',
      parseNumber('--strength'),
    )
    .option('--data <dir>', '[string] input identity folders <dir>/<identity>/<image> or a .rec/.idx')
    .option('--out <dir>', '[string] output folder (same layout)')
    .option('--seed <n>', '[integer] seed for mask/noise (default: 0)', parseInteger('--seed'))
    .option('--patch-size <n>', '[integer] mask patch side in px (default: 16)', parseInteger('--patch-size'))
    .option(
      '--fill <v>',
      '[integer] mask: value of removed pixels, 0..255 (default: 128 gray)',
      parseInteger('--fill'),
    )
    .option('--size <n>', '[integer] resize inputs to n×n first', parseInteger('--size'))
    .option(
      '--allow-no-protection',
      'write the output even when the setting leaves the images unchanged (e.g. --strength 0)',
    )
    .option('--config <file>', '[string] JSON config (flags win; unknown keys are refused)')
    .option('--resume', 'continue an interrupted output')
    .option('--overwrite', 'write over a non-empty output')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveConfig<DistortDatasetConfig>({
        defaults: DEFAULTS,
        configFile: o.config as string | undefined,
        flags: {
          method: o.method as DistortionMethod | undefined,
          strength: o.strength as number | undefined,
          data: o.data as string | undefined,
          out: o.out as string | undefined,
          seed: o.seed as number | undefined,
          patchSize: o.patchSize as number | undefined,
          fill: o.fill as number | undefined,
          size: o.size as number | undefined,
          allowNoProtection: o.allowNoProtection ? true : undefined,
        },
        keys: DISTORT_CONFIG_KEYS,
        typed: true,
      });
      if (!cfg.data) throw new Error('--data <dir> is required');
      if (!cfg.out) throw new Error('--out <dir> is required');
      validateDistortConfig(cfg);
      if (o.queue) {
        const q = await runQueuedWithProgress('distort', o, log, opts.quiet, {
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
