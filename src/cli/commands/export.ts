import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';
import { checkNoOverwrite } from '../../core/fs.js';
import { exportCompactMae, loadMaeRun } from '../../deploy/load-mae.js';
import { exportMaeOnnx } from '../../export/onnx-mae.js';
import { contextOf, parseNumber } from '../context.js';
import { printJson } from '../logger.js';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a trained MAE reconstructor to ONNX (opset 17) and/or a compact float16 checkpoint')
    .requiredOption('--model <dir>', '[string] train-mae run folder')
    .option(
      '--onnx <file>',
      '[string] write the ONNX graph (inputs: image NHWC [N,H,W,3] in [0,1], noise [N,L])',
    )
    .option(
      '--keep-input',
      'add a third ONNX input keep [1] int64 (kept patches per image), so one file masks at any ratio (the web app uses this)',
    )
    .option(
      '--onnx-int8',
      'store the ONNX weights as int8 with per-channel scales (a quarter of the size; the same numbers as an int8 compact checkpoint)',
    )
    .option(
      '--compact <dir>',
      '[string] write a weights-only float16 checkpoint folder (e.g. assets/models/facemae-tiny)',
    )
    .option(
      '--int8',
      'store the compact copy as int8 with per-channel scales (a quarter of float32) instead of float16',
    )
    .option(
      '--mask-ratio <r>',
      '[number] mask ratio baked into the ONNX graph (default: the training ratio)',
      parseNumber('--mask-ratio'),
    )
    .option('--overwrite', 'replace an existing --onnx file or --compact export (never a training run)')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      if (!o.onnx && !o.compact) throw new FaceMaeError('give --onnx FILE and/or --compact DIR');
      if (o.onnx) checkNoOverwrite(o.onnx as string, Boolean(o.overwrite));
      const result: Record<string, unknown> = {};
      if (o.onnx) {
        const loaded = await loadMaeRun(o.model as string);
        try {
          const ratio = (o.maskRatio as number | undefined) ?? loaded.maskRatio;
          result.onnx = {
            ...(await exportMaeOnnx(loaded.mae, ratio, o.onnx as string, {
              keepInput: Boolean(o.keepInput),
              int8: Boolean(o.onnxInt8),
            })),
            maskRatio: ratio,
          };
        } finally {
          loaded.mae.dispose();
        }
        log.result(`wrote ${o.onnx as string}`);
      }
      if (o.compact) {
        result.compact = await exportCompactMae(o.model as string, o.compact as string, {
          int8: Boolean(o.int8),
          overwrite: Boolean(o.overwrite),
        });
        log.result(`wrote ${o.compact as string}`);
      }
      if (opts.json) printJson(result);
    });
}
