import type { Command } from 'commander';
import { str, z } from '../../config/schema.js';
import { FaceMaeError } from '../../core/errors.js';
import { packImageFolder, recordIoToFolder } from '../../data/recordio.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

const SCHEMA = z.strictObject({ data: str(), out: str(), unpack: z.boolean(), verify: z.boolean() });
type PackConfig = z.infer<typeof SCHEMA>;

const DEFAULT_PACK_CONFIG: PackConfig = { data: '', out: '', unpack: false, verify: true };

const FLAGS: ConfigFlag[] = [
  {
    flag: '--data <path>',
    key: 'data',
    help: 'folder <identity>/<image>.jpg to pack, or FILE.rec with --unpack',
  },
  {
    flag: '--out <path>',
    key: 'out',
    help: 'output PREFIX (writes PREFIX.rec, PREFIX.idx, PREFIX.names), or folder with --unpack',
  },
  { flag: '--unpack', key: 'unpack', help: 'unpack --data FILE.rec into the folder --out' },
  {
    flag: '--no-verify',
    key: 'verify',
    help: 'pack without decoding each image first (faster; corrupt images go in unnoticed)',
  },
];

interface PackOptions extends ConfigSources {
  overwrite?: boolean;
}

export function registerPack(program: Command): void {
  const verb = program
    .command('pack')
    .description(
      'pack an image folder into MXNet RecordIO PREFIX.rec/.idx (insightface layout), or unpack one',
    );
  addConfigOptions(verb, SCHEMA, DEFAULT_PACK_CONFIG, FLAGS, 'verify=false')
    .option('--overwrite', 'replace existing outputs')
    .action(async (o: PackOptions, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const cfg = resolveVerbConfig(SCHEMA, DEFAULT_PACK_CONFIG, o, FLAGS);
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
