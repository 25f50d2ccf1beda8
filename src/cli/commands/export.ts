import type { Command } from 'commander';
import { num, str, z } from '../../config/schema.js';
import { FaceMaeError } from '../../core/errors.js';
import { checkNoOverwrite } from '../../core/fs.js';
import { exportCompactMae, loadMaeRun } from '../../deploy/load-mae.js';
import { exportMaeOnnx } from '../../export/onnx-mae.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';

const SCHEMA = z.strictObject({
  model: str(),
  onnx: str().optional(),
  keepInput: z.boolean(),
  onnxInt8: z.boolean(),
  compact: str().optional(),
  int8: z.boolean(),
  maskRatio: num().gt(0).lt(1).optional(),
});
type ExportConfig = z.infer<typeof SCHEMA>;

const DEFAULTS: ExportConfig = { model: '', keepInput: false, onnxInt8: false, int8: false };

const FLAGS: ConfigFlag[] = [
  { flag: '--model <dir>', key: 'model', help: 'train-mae run folder', required: true },
  {
    flag: '--onnx <file>',
    key: 'onnx',
    help: 'write the ONNX graph (inputs: image NHWC [N,H,W,3] in [0,1], noise [N,L])',
  },
  {
    flag: '--keep-input',
    key: 'keepInput',
    help: 'add the ONNX inputs keep [1] int64 (kept patches per image) and paste_back [1] float32 (the release knob), so one file masks at any ratio and releases with any paste-back (the web app uses this)',
  },
  {
    flag: '--onnx-int8',
    key: 'onnxInt8',
    help: 'store the ONNX weights as int8 with per-channel scales (a quarter of the size; the same numbers as an int8 compact checkpoint)',
  },
  {
    flag: '--compact <dir>',
    key: 'compact',
    help: 'write a weights-only float16 checkpoint folder (e.g. assets/models/facemae-tiny)',
  },
  {
    flag: '--int8',
    key: 'int8',
    help: 'store the compact copy as int8 with per-channel scales (a quarter of float32) instead of float16',
  },
  {
    flag: '--mask-ratio <r>',
    key: 'maskRatio',
    help: 'mask ratio baked into the ONNX graph',
    default: 'the training ratio',
  },
];

interface ExportOptions extends ConfigSources {
  overwrite?: boolean;
}

export function registerExport(program: Command): void {
  const verb = program
    .command('export')
    .description('export a trained MAE reconstructor to ONNX (opset 17) and/or a compact float16 checkpoint');
  addConfigOptions(verb, SCHEMA, DEFAULTS, FLAGS, 'maskRatio=0.9')
    .option('--overwrite', 'replace an existing --onnx file or --compact export (never a training run)')
    .action(async (flags: ExportOptions, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const o = resolveVerbConfig(SCHEMA, DEFAULTS, flags, FLAGS);
      if (!o.onnx && !o.compact) throw new FaceMaeError('give --onnx FILE and/or --compact DIR');
      if (o.onnx) checkNoOverwrite(o.onnx, Boolean(flags.overwrite));
      const result: Record<string, unknown> = {};
      if (o.onnx) {
        const loaded = await loadMaeRun(o.model);
        try {
          const ratio = o.maskRatio ?? loaded.maskRatio;
          result.onnx = {
            ...(await exportMaeOnnx(loaded.mae, ratio, o.onnx, {
              keepInput: o.keepInput,
              int8: o.onnxInt8,
            })),
            maskRatio: ratio,
          };
        } finally {
          loaded.mae.dispose();
        }
        log.result(`wrote ${o.onnx}`);
      }
      if (o.compact) {
        result.compact = await exportCompactMae(o.model, o.compact, {
          int8: o.int8,
          overwrite: Boolean(flags.overwrite),
        });
        log.result(`wrote ${o.compact}`);
      }
      if (opts.json) printJson(result);
    });
}
