import type { Command } from 'commander';
import { checkAttackerIndependence, findIrmTeacher, privacyAudit } from '../../protect/privacy-audit.js';
import { loadEmbedder } from '../../sweep/integrations.js';
import { contextOf, parseInteger } from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

export function registerPrivacy(program: Command): void {
  program
    .command('privacy')
    .description(
      'face-retrieval attack: each protected image is a probe against the gallery of all originals',
    )
    .requiredOption('--original <dir>', '[string] original identity folders (the gallery)')
    .requiredOption(
      '--protected <dir>',
      '[string] protected images, same <identity>/<name> layout (the probes)',
    )
    .option(
      '--attacker <model>',
      '[string] attacker recognizer: faceplugin | FILE.onnx | RUN_DIR (default: faceplugin)',
      'faceplugin',
    )
    .option(
      '--irm-teacher <model>',
      "[string] the IRM teacher FaceMAE used (default: read from the protected set's config)",
    )
    .option('--allow-same-attacker', 'run even when the attacker is the IRM teacher (prints a loud warning)')
    .option(
      '--search <mode>',
      '[string] exact | ivf | auto (default: auto, IVF from 50,000 gallery images)',
      'auto',
    )
    .option(
      '--seed <n>',
      '[integer] seed for IVF k-means and the chance estimate (default: 0)',
      parseInteger('--seed'),
      0,
    )
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const attacker = o.attacker as string;
      const teacher = (o.irmTeacher as string | undefined) ?? findIrmTeacher(o.protected as string);
      const indep = checkAttackerIndependence(attacker, teacher, {
        allowSame: Boolean(o.allowSameAttacker),
        onWarning: log.warn,
      });
      log.info(indep.note);
      const embedder = await loadEmbedder(attacker);
      let bar: ProgressBar | undefined;
      let label = '';
      try {
        const m = await privacyAudit({
          original: o.original as string,
          protected: o.protected as string,
          embedder,
          seed: o.seed as number,
          search: o.search as 'exact' | 'ivf' | 'auto',
          onWarning: log.warn,
          onProgress: (d, t, s) => {
            if (s !== label || !bar) {
              label = s ?? '';
              bar = createProgress(`embed ${label}`, t, { quiet: opts.quiet });
            }
            if (d < t) bar.update(d);
            else {
              bar.finish();
              bar = undefined;
            }
          },
        });
        if (opts.json) {
          printJson({ ...m, irmTeacher: teacher ?? null, attackerIsTeacher: indep.same });
          return;
        }
        const pct = (x: number | undefined) => `${((x ?? NaN) * 100).toFixed(1)}%`;
        log.result(
          `attacker ${m.attacker}, ${m.numProbes} probes vs ${m.numGallery} originals of ${m.numIdentities} identities (${m.search} search)`,
        );
        log.result(`instance top-1   ${pct(m.instanceTop1)}   (chance ${pct(m.chance.instanceTop1)})`);
        for (const k of Object.keys(m.identityTopK)) {
          log.result(
            `identity ${k.replace('top', 'top-').padEnd(8)}${pct(m.identityTopK[k])}   (chance ${pct(m.chance.identityTopK[k])})`,
          );
        }
        log.result(
          `mean cosine to source ${m.meanCosineToSource.toFixed(3)}; mean source rank ${m.meanSourceRank.toFixed(1)}`,
        );
      } finally {
        await embedder.dispose();
      }
    });
}
