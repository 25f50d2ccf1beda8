import type { Command } from 'commander';
import { resolveConfig } from '../../config/resolve.js';
import { atomicWriteFile, checkNoOverwrite } from '../../core/fs.js';
import { FaceMaeError } from '../../core/errors.js';
import { verifyModel } from '../../loaders/verify-model.js';
import { rocPng } from '../../eval/roc.js';
import type { ChannelOrder } from '../../models/onnx/face-input.js';
import { collect, contextOf, parseInteger, parseNumber } from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

interface VerifyConfig {
  model: string;
  sets: string[];
  flip: boolean;
  batchSize: number;
  threads: number;
  input: { channelOrder?: ChannelOrder; mean?: number; std?: number };
}
const DEFAULTS: VerifyConfig = {
  model: 'faceplugin',
  sets: [],
  flip: true,
  batchSize: 32,
  threads: 0,
  input: { channelOrder: undefined, mean: undefined, std: undefined },
};

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('10-fold verification accuracy on LFW / CFP-FP / AgeDB-30 style sets (insightface protocol)')
    .option(
      '--model <spec>',
      "[string] 'faceplugin', FILE.onnx, 'tfjs:faceplugin|FILE.onnx' (imported into tfjs), or a train-fr run folder (default: faceplugin)",
    )
    .option('--set <spec>', '[string] lfw:DIR | bin:FILE | cfp-fp:DIR | agedb:FILE (repeatable)', collect)
    .option('--roc <file.png>', '[string] write the ROC curves as a PNG')
    .option('--overwrite', 'replace an existing --roc file')
    .option('--no-flip', 'embed without the flip test-time augmentation')
    .option(
      '--batch-size <n>',
      '[integer] images per forward pass (default: 32)',
      parseInteger('--batch-size'),
    )
    .option('--threads <n>', '[integer] onnxruntime threads (default: all cores)', parseInteger('--threads'))
    .option(
      '--channel-order <rgb|bgr>',
      '[string] ONNX model input channel order (overrides its sidecar JSON)',
    )
    .option('--mean <x>', '[number] ONNX input: subtracted from 0..255 pixels', parseNumber('--mean'))
    .option('--std <x>', '[number] ONNX input: divisor after the mean', parseNumber('--std'))
    .option('--config <file>', '[string] JSON config (flags win)')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      // before minutes of embedding, not after
      if (o.roc) checkNoOverwrite(o.roc as string, Boolean(o.overwrite));
      const cfg = resolveConfig<VerifyConfig>({
        defaults: DEFAULTS,
        typed: true,
        configFile: o.config as string | undefined,
        flags: {
          model: o.model as string | undefined,
          sets: o.set as string[] | undefined,
          flip: o.flip === false ? false : undefined,
          batchSize: o.batchSize as number | undefined,
          threads: o.threads as number | undefined,
          input: {
            channelOrder: o.channelOrder as ChannelOrder | undefined,
            mean: o.mean as number | undefined,
            std: o.std as number | undefined,
          },
        },
      });
      if (cfg.sets.length === 0)
        throw new FaceMaeError('give at least one --set (e.g. --set lfw:data/lfw-aligned-112)');
      const input = Object.fromEntries(Object.entries(cfg.input).filter(([, v]) => v !== undefined));
      let bar: ProgressBar | undefined;
      let phase = '';
      const results = await verifyModel(cfg.model, cfg.sets, {
        flip: cfg.flip,
        batchSize: cfg.batchSize,
        embedder: { input, threads: cfg.threads || undefined },
        onWarning: log.warn,
        onProgress: (p, set, d, t) => {
          if (`${p} ${set}` !== phase) {
            bar?.finish();
            bar = createProgress(`${p === 'read' ? 'reading' : 'embedding'} ${set}`, t, {
              quiet: opts.quiet,
            });
            phase = `${p} ${set}`;
          }
          bar?.update(d);
        },
        onResult: (r) => {
          bar?.finish();
          bar = undefined;
          phase = '';
          log.result(
            `${r.name}: accuracy ${(100 * r.accuracy).toFixed(2)}% ± ${(100 * r.std).toFixed(2)}  ` +
              `TAR@FAR=${r.tarAtFar.target}: ${(100 * r.tarAtFar.tar).toFixed(2)}%  AUC ${r.roc.auc.toFixed(4)}  ` +
              `(${r.pairs} pairs, threshold ${r.threshold.toFixed(2)}, ${cfg.flip ? 'flip' : 'no flip'}, ${r.seconds.toFixed(0)} s)`,
          );
        },
      });
      if (o.roc) {
        await atomicWriteFile(
          o.roc as string,
          await rocPng(
            results.map((r) => ({ label: `${r.name} ${(100 * r.accuracy).toFixed(2)}%`, roc: r.roc })),
          ),
        );
        log.info(`ROC written to ${o.roc as string}`);
      }
      if (opts.json) {
        printJson({
          model: cfg.model,
          config: cfg,
          results: results.map((r) => ({
            ...r,
            roc: { auc: r.roc.auc, thresholds: r.roc.thresholds, tpr: r.roc.tpr, fpr: r.roc.fpr },
          })),
        });
      }
    });
}
