import type { Command } from 'commander';
import path from 'node:path';
import { int, num, str, z } from '../../config/schema.js';
import { reconstructDataset } from '../../protect/reconstruct-dataset.js';
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

const SCHEMA = z.strictObject({
  model: str(),
  data: str(),
  out: str(),
  /** null: the ratio the model was trained with. */
  maskRatio: num().min(0).max(1).nullable(),
  pasteBack: num().min(0).max(1),
  seed: int(),
  format: z.enum(['folder', 'rec']),
  batchSize: int(),
  quality: int(),
  allowNoProtection: z.boolean(),
});
type ReconstructConfig = z.infer<typeof SCHEMA>;

const DEFAULTS: ReconstructConfig = {
  model: '',
  data: '',
  out: '',
  maskRatio: null,
  pasteBack: 1,
  seed: 0,
  format: 'folder',
  batchSize: 32,
  quality: 95,
  allowNoProtection: false,
};

const FLAGS: ConfigFlag[] = [
  {
    flag: '--model <dir>',
    key: 'model',
    help: 'train-mae run folder (or a compact model folder such as assets/models/facemae-tiny)',
    required: true,
  },
  {
    flag: '--data <dir>',
    key: 'data',
    help: 'image folder (<identity>/<image>) or .rec to reconstruct',
    required: true,
  },
  {
    flag: '--out <dir>',
    key: 'out',
    help: 'output folder: images/<identity>/<file>, manifest.jsonl, config.json',
    required: true,
  },
  {
    flag: '--mask-ratio <r>',
    key: 'maskRatio',
    help: 'fraction of patches removed',
    default: 'the ratio the model was trained with',
  },
  {
    flag: '--paste-back <w>',
    key: 'pasteBack',
    help: "weight of the real pixels on the visible patches, 0..1 (1: pasted back; 0: the decoder's prediction everywhere)",
  },
  { flag: '--seed <n>', key: 'seed', help: 'seed of the masks' },
  { flag: '--format <kind>', key: 'format', help: 'folder, or rec (also packs out/data.rec/.idx)' },
  { flag: '--batch-size <n>', key: 'batchSize', help: 'images per forward pass' },
  {
    flag: '--allow-no-protection',
    key: 'allowNoProtection',
    help: 'write the output even when the mask ratio removes no patch (e.g. --mask-ratio 0)',
  },
];

export function registerReconstruct(program: Command): void {
  const verb = program.command('reconstruct');
  addQueueOptions(verb);
  verb.description('deploy: mask and reconstruct every face of a dataset of unseen identities');
  addConfigOptions(verb, SCHEMA, DEFAULTS, FLAGS, 'quality=90')
    .option('--resume', 'continue an interrupted job in --out (finished images are kept)')
    .option('--overwrite', 'write into a non-empty --out from scratch')
    .action(async (o: QueueFlags & ConfigSources, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveVerbConfig(SCHEMA, DEFAULTS, o, FLAGS);
      if (o.queue) {
        const q = await runQueuedWithProgress('reconstruct', { ...o, queue: o.queue }, log, opts.quiet, {
          out: cfg.out,
          format: cfg.format,
          task: {
            kind: 'reconstruct',
            model: path.resolve(cfg.model),
            data: path.resolve(cfg.data),
            seed: cfg.seed,
            ...(cfg.maskRatio !== null ? { maskRatio: cfg.maskRatio } : {}),
            ...(cfg.pasteBack !== 1 ? { pasteBack: cfg.pasteBack } : {}),
            batchSize: cfg.batchSize,
            quality: cfg.quality,
            ...(cfg.allowNoProtection ? { allowNoProtection: true } : {}),
          },
        });
        if (opts.json) printJson(q);
        else
          log.result(
            `reconstructed ${q.written} of ${q.images} images in ${q.shards} shards${q.errors.length ? ` (${q.errors.length} unreadable, listed in errors.jsonl)` : ''} → ${q.out}${q.rec ? ` and ${q.rec}` : ''}`,
          );
        return;
      }
      let bar: ProgressBar | undefined;
      const r = await reconstructDataset({
        ...cfg,
        maskRatio: cfg.maskRatio ?? undefined,
        resume: Boolean(o.resume),
        overwrite: Boolean(o.overwrite),
        onWarning: log.warn,
        onProgress: (d, t, s) => {
          bar ??= createProgress('reconstruct', t, { quiet: opts.quiet });
          bar.update(d, s);
        },
      });
      (bar as ProgressBar | undefined)?.finish();
      if (opts.json) printJson(r);
      else
        log.result(
          `reconstructed ${r.written} images (${r.skipped} already done) → ${r.out}${r.rec ? ` and ${r.rec}` : ''}`,
        );
    });
}
