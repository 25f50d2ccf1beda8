import type { Command } from 'commander';
import { alignFolder, DEFAULT_ALIGN_CONFIG, type AlignConfig } from '../../align/align-folder.js';
import { num, posInt, str, z } from '../../config/schema.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

const SCHEMA: z.ZodType<AlignConfig> = z.strictObject({
  data: str(),
  out: str(),
  detector: str().min(1),
  pick: z.enum(['largest', 'central']),
  padRetry: num().min(0).max(1),
  tightFraction: num().gt(0).max(1),
  threshold: num().min(0).max(1).nullable(),
  threads: posInt(),
});

const FLAGS: ConfigFlag[] = [
  {
    flag: '--data <dir>',
    key: 'data',
    help: 'folder of raw photos (any layout, e.g. <identity>/<photo>.jpg)',
    required: true,
  },
  { flag: '--out <dir>', key: 'out', help: 'output folder (same layout, 112x112 crops)', required: true },
  { flag: '--detector <spec>', key: 'detector', help: 'faceplugin (bundled) | scrfd:FILE.onnx' },
  { flag: '--pick <mode>', key: 'pick', help: 'the face kept when a photo has several' },
  {
    flag: '--pad-retry <x>',
    key: 'padRetry',
    help: 'black border per side (fraction of the longer side) for a second search when no face is found or the face fills or is cut by the edge; 0 = off',
  },
  {
    flag: '--threshold <x>',
    key: 'threshold',
    help: 'detector score threshold',
    default: 'faceplugin 0.65, scrfd 0.5',
  },
  { flag: '--threads <n>', key: 'threads', help: 'onnxruntime threads per model' },
];

interface AlignOptions extends ConfigSources {
  resume?: boolean;
  overwrite?: boolean;
}

export function registerAlign(program: Command): void {
  const verb = program
    .command('align')
    .description('detect faces in raw photos and align them to the 112x112 insightface standard');
  addConfigOptions(verb, SCHEMA, DEFAULT_ALIGN_CONFIG, FLAGS, 'tightFraction=0.8')
    .option('--resume', 'continue an interrupted output, keeping finished crops')
    .option('--overwrite', 'write over a non-empty output')
    .action(async (o: AlignOptions, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveVerbConfig(SCHEMA, DEFAULT_ALIGN_CONFIG, o, FLAGS);
      let bar: ProgressBar | undefined;
      const { report, noFace } = await alignFolder(cfg, {
        resume: Boolean(o.resume),
        overwrite: Boolean(o.overwrite),
        onProgress: (d, t, status) => {
          bar ??= createProgress('align', t, { quiet: opts.quiet });
          bar.update(d, status);
        },
      });
      bar?.finish();
      if (opts.json) {
        printJson({ ...report, noFaceList: noFace, out: cfg.out, config: cfg });
        return;
      }
      for (const e of noFace) log.warn(`${e.reason}: ${e.path}${e.detail ? ` (${e.detail})` : ''}`);
      log.result(
        `aligned ${report.aligned} (kept ${report.kept}) of ${report.total} photos with ${report.detector}: ` +
          `${(report.detectionRate * 100).toFixed(1)}% with a face, ${report.multiFace} with several (--pick ${cfg.pick}); ` +
          `${noFace.length} listed in ${cfg.out}/no-face.jsonl`,
      );
    });
}
