import type { Command } from 'commander';
import { alignFolder, DEFAULT_ALIGN_CONFIG, type AlignConfig } from '../../align/align-folder.js';
import type { PickMode } from '../../align/types.js';
import { resolveConfig } from '../../config/resolve.js';
import { contextOf, parseInteger, parseNumber } from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

export function registerAlign(program: Command): void {
  program
    .command('align')
    .description('detect faces in raw photos and align them to the 112x112 insightface standard')
    .option('--data <dir>', '[string] folder of raw photos (any layout, e.g. <identity>/<photo>.jpg)')
    .option('--out <dir>', '[string] output folder (same layout, 112x112 crops)')
    .option('--detector <spec>', '[string] faceplugin (bundled) | scrfd:FILE.onnx (default: faceplugin)')
    .option('--pick <mode>', '[string] largest | central face when a photo has several (default: largest)')
    .option(
      '--pad-retry <x>',
      '[number] black border per side (fraction of the longer side) for a second search when no face is found or the face fills or is cut by the edge; 0 = off (default: 0.25)',
      parseNumber('--pad-retry'),
    )
    .option(
      '--threshold <x>',
      '[number] detector score threshold (default: faceplugin 0.65, scrfd 0.5)',
      parseNumber('--threshold'),
    )
    .option(
      '--threads <n>',
      '[integer] onnxruntime threads per model (default: 1)',
      parseInteger('--threads'),
    )
    .option('--config <file>', '[string] JSON config (flags win)')
    .option('--resume', 'continue an interrupted output, keeping finished crops')
    .option('--overwrite', 'write over a non-empty output')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveConfig<AlignConfig>({
        defaults: DEFAULT_ALIGN_CONFIG,
        typed: true,
        configFile: o.config as string | undefined,
        flags: {
          data: o.data as string | undefined,
          out: o.out as string | undefined,
          detector: o.detector as string | undefined,
          pick: o.pick as PickMode | undefined,
          padRetry: o.padRetry as number | undefined,
          threshold: o.threshold as number | undefined,
          threads: o.threads as number | undefined,
        },
      });
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
