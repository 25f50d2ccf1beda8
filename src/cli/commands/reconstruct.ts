import type { Command } from 'commander';
import { resolveConfig } from '../../config/resolve.js';
import { reconstructDataset, type ReconstructFormat } from '../../protect/reconstruct-dataset.js';
import { contextOf, parseInteger, parseNumber } from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';
import path from 'node:path';
import { addQueueOptions, runQueuedWithProgress } from '../queue-progress.js';

interface ReconstructConfig {
  model: string;
  data: string;
  out: string;
  maskRatio: number | null;
  pasteBack: number;
  seed: number;
  format: ReconstructFormat;
  batchSize: number;
  quality: number;
  allowNoProtection: boolean;
}
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

export function registerReconstruct(program: Command): void {
  const verb = program.command('reconstruct');
  addQueueOptions(verb);
  verb
    .description('deploy: mask and reconstruct every face of a dataset of unseen identities')
    .requiredOption(
      '--model <dir>',
      '[string] train-mae run folder (or a compact model folder such as assets/models/facemae-tiny)',
    )
    .requiredOption('--data <dir>', '[string] image folder (<identity>/<image>) or .rec to reconstruct')
    .requiredOption(
      '--out <dir>',
      '[string] output folder: images/<identity>/<file>, manifest.jsonl, config.json',
    )
    .option(
      '--mask-ratio <r>',
      '[number] fraction of patches removed (default: the ratio the model was trained with)',
      parseNumber('--mask-ratio'),
    )
    .option(
      '--paste-back <w>',
      "[number] weight of the real pixels on the visible patches, 0..1 (default: 1, pasted back; 0: the decoder's prediction everywhere)",
      parseNumber('--paste-back'),
    )
    .option('--seed <n>', '[integer] seed of the masks (default: 0)', parseInteger('--seed'))
    .option('--format <folder|rec>', '[string] folder (default) or rec (also packs out/data.rec/.idx)')
    .option(
      '--batch-size <n>',
      '[integer] images per forward pass (default: 32)',
      parseInteger('--batch-size'),
    )
    .option(
      '--allow-no-protection',
      'write the output even when the mask ratio removes no patch (e.g. --mask-ratio 0)',
    )
    .option('--config <file>', '[string] JSON config (flags win)')
    .option('--resume', 'continue an interrupted job in --out (finished images are kept)')
    .option('--overwrite', 'write into a non-empty --out from scratch')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveConfig<ReconstructConfig>({
        defaults: DEFAULTS,
        typed: true,
        configFile: o.config as string | undefined,
        flags: {
          model: o.model as string,
          data: o.data as string,
          out: o.out as string,
          maskRatio: o.maskRatio as number | undefined,
          pasteBack: o.pasteBack as number | undefined,
          seed: o.seed as number | undefined,
          format: o.format as ReconstructFormat | undefined,
          batchSize: o.batchSize as number | undefined,
          allowNoProtection: o.allowNoProtection ? true : undefined,
        },
      });
      if (o.queue) {
        const q = await runQueuedWithProgress('reconstruct', o, log, opts.quiet, {
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
