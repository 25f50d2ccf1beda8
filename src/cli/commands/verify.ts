import type { Command } from 'commander';
import { nonNegInt, num, posInt, str, strList, z } from '../../config/schema.js';
import { atomicWriteFile, checkNoOverwrite } from '../../core/fs.js';
import { FaceMaeError } from '../../core/errors.js';
import { verifyModel } from '../../loaders/verify-model.js';
import { rocPng } from '../../eval/roc.js';
import { CHANNEL_ORDERS } from '../../models/onnx/face-input.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

const SCHEMA = z.strictObject({
  model: str().min(1),
  /** Verification sets ('lfw:DIR', 'bin:FILE', ...), insightface's val_targets. */
  targets: strList(),
  flip: z.boolean(),
  batchSize: posInt(),
  /** ONNX models: worker threads (one onnxruntime session at one thread each); 0 = FACEMAE_THREADS, else all cores. */
  threads: nonNegInt(),
  /** An ONNX model's pixel convention, over its sidecar JSON. */
  input: z.strictObject({
    channelOrder: z.enum(CHANNEL_ORDERS).optional(),
    mean: num().optional(),
    std: num().positive().optional(),
  }),
});
type VerifyConfig = z.infer<typeof SCHEMA>;

const DEFAULTS: VerifyConfig = {
  model: 'faceplugin',
  targets: [],
  flip: true,
  batchSize: 32,
  threads: 0,
  input: {},
};

const FLAGS: ConfigFlag[] = [
  {
    flag: '--model <spec>',
    key: 'model',
    help: "'faceplugin', 'mobileface', 'faceres', FILE.onnx, 'tfjs:faceplugin|FILE.onnx' (imported into tfjs), or a train-fr run folder",
  },
  {
    flag: '--target <spec>',
    key: 'targets',
    help: 'verification set: lfw:DIR | bin:FILE | cfp-fp:DIR | agedb:FILE',
  },
  { flag: '--no-flip', key: 'flip', help: 'embed without the flip test-time augmentation' },
  { flag: '--batch-size <n>', key: 'batchSize', help: 'images per forward pass' },
  {
    flag: '--threads <n>',
    key: 'threads',
    help: 'ONNX models: worker threads, one onnxruntime session each',
    default: 'FACEMAE_THREADS, else all cores',
  },
  {
    flag: '--channel-order <order>',
    key: 'input.channelOrder',
    help: 'ONNX model input channel order (over its sidecar JSON)',
  },
  { flag: '--mean <x>', key: 'input.mean', help: 'ONNX input: subtracted from 0..255 pixels' },
  { flag: '--std <x>', key: 'input.std', help: 'ONNX input: divisor after the mean' },
];

interface VerifyOptions extends ConfigSources {
  roc?: string;
  overwrite?: boolean;
}

export function registerVerify(program: Command): void {
  const verb = program
    .command('verify')
    .description(
      '10-fold verification accuracy on LFW / CFP-FP / AgeDB-30 style sets (insightface protocol)',
    );
  addConfigOptions(verb, SCHEMA, DEFAULTS, FLAGS, 'batchSize=64')
    .option('--roc <file.png>', '[string] write the ROC curves as a PNG')
    .option('--overwrite', 'replace an existing --roc file')
    .action(async (o: VerifyOptions, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      // before minutes of embedding, not after
      // the old spelling of --target: --set is now the dotted config override
      const old = o.set?.find((v) => !v.includes('='));
      if (old !== undefined)
        throw new FaceMaeError(
          `verify --set ${old}: verification sets are given with --target (--target ${old}); --set is now a config override (--set key=value)`,
          'E_CONFIG',
        );
      // before minutes of embedding, not after
      if (o.roc) checkNoOverwrite(o.roc, Boolean(o.overwrite));
      const cfg = resolveVerbConfig(SCHEMA, DEFAULTS, o, FLAGS);
      if (cfg.targets.length === 0)
        throw new FaceMaeError(
          'give at least one --target (e.g. --target lfw:data/lfw-aligned-112)',
          'E_CONFIG',
          {
            key: 'targets',
          },
        );
      let bar: ProgressBar | undefined;
      let phase = '';
      const results = await verifyModel(cfg.model, cfg.targets, {
        flip: cfg.flip,
        batchSize: cfg.batchSize,
        embedder: { input: cfg.input, threads: cfg.threads || undefined },
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
          o.roc,
          await rocPng(
            results.map((r) => ({ label: `${r.name} ${(100 * r.accuracy).toFixed(2)}%`, roc: r.roc })),
          ),
        );
        log.info(`ROC written to ${o.roc}`);
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
