import type { Command } from 'commander';
import {
  checkAttackerIndependence,
  findIrmTeacherRef,
  parseAttackers,
  privacyAudit,
  worstCase,
  type PrivacyAuditResult,
} from '../../protect/privacy-audit.js';
import { createEmbedder } from '../../loaders/embedders.js';
import { contextOf, parseInteger } from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

export function registerPrivacy(program: Command): void {
  program
    .command('privacy')
    .description(
      'face-retrieval attack: each protected image is a probe against the gallery of all originals',
    )
    .requiredOption('--original <dir>', '[string] original identity folders or .rec/.idx (the gallery)')
    .requiredOption(
      '--protected <dir>',
      '[string] protected images, same <identity>/<name> layout (the probes)',
    )
    .option(
      '--attacker <models>',
      '[string] attacker recognizer(s), comma-separated or repeated: faceplugin | faceres | mobilefacenet | FILE.onnx | RUN_DIR (default: faceplugin)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--irm-teacher <model>',
      "[string] the IRM teacher FaceMAE used (default: read from the protected set's config)",
    )
    .option('--allow-same-attacker', 'run even when the attacker is the IRM teacher (prints a loud warning)')
    .option(
      '--search <mode>',
      '[string] exact | ann | auto (default: auto, ANN (HNSW) from 50,000 gallery images)',
      'auto',
    )
    .option('--seed <n>', '[integer] seed for the chance estimate (default: 0)', parseInteger('--seed'), 0)
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const attackers = parseAttackers((o.attacker as string[] | undefined) ?? ['faceplugin']);
      const teacher = (o.irmTeacher as string | undefined) ?? findIrmTeacherRef(o.protected as string);
      // Every attacker is checked before any embedding starts, so a refusal costs nothing.
      const indep = attackers.map((a) =>
        checkAttackerIndependence(a, teacher, {
          allowSame: Boolean(o.allowSameAttacker),
          onWarning: log.warn,
        }),
      );
      for (const i of indep) log.info(i.note);
      const results: Record<string, PrivacyAuditResult & { attackerIsTeacher: boolean }> = {};
      for (const [ai, attacker] of attackers.entries()) {
        const embedder = await createEmbedder(attacker);
        let bar: ProgressBar | undefined;
        let label = '';
        try {
          const m = await privacyAudit({
            original: o.original as string,
            protected: o.protected as string,
            embedder,
            seed: o.seed as number,
            search: o.search as 'exact' | 'ann' | 'auto',
            onWarning: log.warn,
            onProgress: (d, t, s) => {
              if (s !== label || !bar) {
                label = s ?? '';
                bar = createProgress(`${attacker}: embed ${label}`, t, { quiet: opts.quiet });
              }
              if (d < t) bar.update(d);
              else {
                bar.finish();
                bar = undefined;
              }
            },
          });
          results[attacker] = { ...m, attackerIsTeacher: indep[ai]!.same };
        } finally {
          await embedder.dispose();
        }
      }
      const worst = worstCase(results);
      if (opts.json) {
        printJson({
          attackers: results,
          worst,
          irmTeacher: (typeof teacher === 'string' ? teacher : teacher?.spec) ?? null,
        });
        return;
      }
      const pct = (x: number | undefined) => `${((x ?? NaN) * 100).toFixed(1)}%`;
      for (const m of Object.values(results)) {
        log.result(
          `attacker ${m.attacker}, ${m.numProbes} probes vs ${m.numGallery} originals of ${m.numIdentities} identities (${m.search} search)`,
        );
        log.result(`  instance top-1   ${pct(m.instanceTop1)}   (chance ${pct(m.chance.instanceTop1)})`);
        for (const k of Object.keys(m.identityTopK)) {
          log.result(
            `  identity ${k.replace('top', 'top-').padEnd(8)}${pct(m.identityTopK[k])}   (chance ${pct(m.chance.identityTopK[k])})`,
          );
        }
        log.result(
          `  mean cosine to source ${m.meanCosineToSource.toFixed(3)}; mean source rank ${m.meanSourceRank.toFixed(1)}`,
        );
      }
      log.result(
        `worst case over ${attackers.length} attacker(s): identity top-1 ${pct(worst.identityTop1)} (${worst.attacker})`,
      );
    });
}
