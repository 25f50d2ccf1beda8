import type { Command } from 'commander';
import { resolveConfig } from '../../config/resolve.js';
import { FaceMaeError } from '../../core/errors.js';
import { packImageFolder, recordIoToFolder } from '../../data/recordio.js';
import { contextOf } from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

interface PackConfig {
  data: string;
  out: string;
  unpack: boolean;
  verify: boolean;
}

const DEFAULT_PACK_CONFIG: PackConfig = { data: '', out: '', unpack: false, verify: true };

export function registerPack(program: Command): void {
  program
    .command('pack')
    .description(
      'pack an image folder into MXNet RecordIO PREFIX.rec/.idx (insightface layout), or unpack one',
    )
    .option('--data <path>', '[string] folder <identity>/<image>.jpg to pack, or FILE.rec with --unpack')
    .option(
      '--out <path>',
      '[string] output PREFIX (writes PREFIX.rec, PREFIX.idx, PREFIX.names), or folder with --unpack',
    )
    .option('--unpack', 'unpack --data FILE.rec into the folder --out')
    .option('--no-verify', 'pack without decoding each image first (faster; corrupt images go in unnoticed)')
    .option('--overwrite', 'replace existing outputs')
    .option('--config <file>', '[string] JSON config (flags win)')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveConfig<PackConfig>({
        defaults: DEFAULT_PACK_CONFIG,
        typed: true,
        configFile: o.config as string | undefined,
        flags: {
          data: o.data as string | undefined,
          out: o.out as string | undefined,
          unpack: o.unpack === true ? true : undefined,
          verify: o.verify === false ? false : undefined,
        },
      });
      if (!cfg.data)
        throw new FaceMaeError('pack needs --data (a folder to pack, or FILE.rec with --unpack)');
      if (!cfg.out)
        throw new FaceMaeError('pack needs --out (PREFIX for PREFIX.rec/.idx, or a folder with --unpack)');
      let bar: ProgressBar | undefined;
      const onProgress = (d: number, t: number) => {
        bar ??= createProgress(cfg.unpack ? 'unpack' : 'pack', t, { quiet: opts.quiet });
        bar.update(d);
      };
      const t0 = performance.now();
      if (cfg.unpack) {
        const r = await recordIoToFolder(cfg.data, cfg.out, { overwrite: Boolean(o.overwrite), onProgress });
        bar?.finish();
        const seconds = (performance.now() - t0) / 1000;
        if (opts.json) return printJson({ ...r, seconds, config: cfg });
        log.result(
          `unpacked ${r.images} images of ${r.identities} identities to ${r.out} in ${seconds.toFixed(1)} s`,
        );
        return;
      }
      const r = await packImageFolder(cfg.data, cfg.out, {
        overwrite: Boolean(o.overwrite),
        verify: cfg.verify,
        onProgress,
        onWarning: (m) => log.warn(m),
      });
      bar?.finish();
      const seconds = (performance.now() - t0) / 1000;
      if (opts.json) return printJson({ ...r, seconds, config: cfg });
      log.result(
        `packed ${r.images} images of ${r.identities} identities into ${r.rec} (${(r.bytes / 1e6).toFixed(1)} MB) and ${r.idx} in ${seconds.toFixed(1)} s`,
      );
    });
}
