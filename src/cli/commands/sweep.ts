import type { Command } from 'commander';
import { parseDottedOverrides } from '../../config/resolve.js';
import { loadSweepConfig } from '../../sweep/config.js';
import { runSweep } from '../../sweep/sweep.js';
import { collect, contextOf, parseInteger, type ConfigSources } from '../context.js';
import { printJson } from '../logger.js';
import { exitWithParent } from '../parent.js';
import { createProgress, type ProgressBar } from '../progress.js';
import { stepInChild } from '../sweep-children.js';

/** The flags of `sweep` (and `demo`): `--config` is the sweep config, `--set` overrides its keys. */
export interface SweepOptions extends ConfigSources {
  out?: string;
  overwrite?: boolean;
  jobs?: number;
  only?: string;
}

/** Runs the sweep and prints the report path (shared with `demo`). */
export async function sweepAction(cmd: Command, configFile: string, o: SweepOptions): Promise<void> {
  const { opts, log } = contextOf(cmd);
  if (o.only) exitWithParent(() => log.warn(`${o.only}: the parent sweep is gone; stopping this step`));
  let bar: ProgressBar | undefined;
  let current = '';
  const onLog = (m: string) => {
    bar = undefined;
    log.info(m);
  };
  const r = await runSweep(loadSweepConfig(configFile, parseDottedOverrides(o.set ?? [])), {
    out: o.out,
    overwrite: o.overwrite,
    jobs: o.jobs,
    only: o.only,
    execute:
      o.jobs !== undefined && o.jobs > 1
        ? stepInChild({ configFile, set: o.set ?? [], jobs: o.jobs, onLog })
        : undefined,
    onLog,
    onProgress: (step, d, t, s) => {
      if (step !== current || !bar) {
        current = step;
        bar = createProgress(`  ${step}`, t, { quiet: opts.quiet, everySec: 15 });
      }
      if (d < t) bar.update(d, s);
      else {
        bar.finish(s);
        bar = undefined;
      }
    },
  });
  const outcomes = [...r.outcomes.values()];
  const bad = outcomes.filter((x) => x.status === 'failed' || x.status === 'skipped');
  if (opts.json) {
    printJson({
      report: r.report,
      out: r.out,
      steps: outcomes.map(({ id, status, error }) => ({ id, status, error })),
    });
  } else {
    for (const b of bad) log.warn(`${b.id}: ${b.status}: ${b.error ?? ''}`);
    if (o.only) log.result(`${o.only}: ${r.outcomes.get(o.only)?.status ?? 'not run'}`);
    else log.result(`report: ${r.report}`);
  }
  if (outcomes.some((x) => x.status === 'failed')) process.exitCode = 1;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description(
      'privacy–utility sweep: FaceMAE at several mask ratios and the baselines, attacked and used for training; writes report/index.html',
    )
    .requiredOption(
      '--config <file>',
      '[string] sweep config (see configs/demo.json); relative paths are relative to the file',
    )
    .option('--out <dir>', '[string] run folder (default: runs/<name>); an existing sweep there is continued')
    .option(
      '--set <key=value>',
      '[string] override a config key, e.g. --set maskRatios=[0.75] (repeatable)',
      collect,
    )
    .option('--overwrite', 'use an output folder that is not a sweep run')
    .option(
      '--jobs <n>',
      '[integer] steps at once (default 1); above 1 the training, reconstruction and verification steps run in child processes, each with cores/n BLAS threads',
      parseInteger('--jobs'),
    )
    .option('--only <step>', '[string] run just this step (what it needs must be done); no report is written')
    .action(async (o: SweepOptions & { config: string }, cmd: Command) => {
      await sweepAction(cmd, o.config, o);
    });
}
