/**
 * The FaceMAE privacy–utility sweep (FaceMAE, Wang, Zhao et al. 2022, Sec. 4): train FaceMAE on A,
 * protect the deployment set B with FaceMAE at several mask ratios and with each baseline, attack
 * every version of B, train the same recognizer on every version, verify on T, and write the
 * report. The steps (./plan.ts) are cached and resumable (./runner.ts) under `<out>/steps/`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveResolvedConfig } from '../config/resolve.js';
import { FaceMaeError } from '../core/errors.js';
import { writeJsonAtomic } from '../core/fs.js';
import { hasCheckpoint, readCheckpointInfo } from '../data/checkpoint.js';
import { toEvidence } from '../report/evidence.js';
import { sweepReportData } from '../report/sweep-report.js';
import type { ReportData } from '../report/types.js';
import { writeReport } from '../report/write.js';
import type { SweepConfig } from './config.js';
import { defaultSweepDeps, type SweepDeps } from './integrations.js';
import { outcomeOf, planSweep, runnerSteps, sweepAttackers, type PlannedRow } from './plan.js';
import { runSteps, type StepOutcome } from './runner.js';
import { ROW_STEP } from './step-ids.js';

/** The sweep of the built-in sample, what `facemae demo` runs (from src/sweep or dist/sweep). */
export const DEMO_CONFIG = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../configs/demo.json',
);

export interface SweepOptions {
  /** The run folder (default runs/<name>); an existing sweep there is continued. */
  out?: string;
  /** Use an output folder that holds something other than a sweep run. */
  overwrite?: boolean;
  /** The training, protection and verification functions (default: the library's). */
  deps?: SweepDeps;
  onLog?: (msg: string) => void;
  /** Progress of the step running. */
  onProgress?: (step: string, done: number, total: number, status?: string) => void;
  /** Steps at once (default 1); above 1, the heavy steps go through `execute` (see runSteps). */
  jobs?: number;
  /** Runs one step elsewhere (e.g. `facemae sweep --only ID` in a child process) and resolves when it has ended. */
  execute?: (stepId: string, out: string) => Promise<void>;
  /**
   * Runs this step alone (what `execute`'s child does): what it needs must be done; nothing else
   * runs, and neither the resolved config nor the report is written.
   */
  only?: string;
}

export interface SweepResult {
  /** The report's index.html ('' when `only` ran one step). */
  report: string;
  /** The run folder. */
  out: string;
  /** Every step's outcome by id, with the result its done-marker keeps. */
  outcomes: Map<string, StepOutcome>;
  data: ReportData;
}

/**
 * Refuses a run folder that is not a sweep's (unless `overwrite`), and `only` outside an existing
 * sweep: a step run alone writes no config.json, so it must not start a folder of its own.
 */
function checkRunFolder(out: string, opts: SweepOptions): void {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new FaceMaeError(`--jobs must be a whole number >= 1, got ${String(opts.jobs)}`, 'E_CONFIG');
  if (opts.only && jobs > 1) throw new FaceMaeError('--only runs one step: it takes no --jobs', 'E_CONFIG');
  let isSweep = false;
  try {
    const prev: unknown = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    isSweep = typeof prev === 'object' && prev !== null && 'command' in prev && prev.command === 'sweep';
  } catch {
    isSweep = false; // no readable config.json: not a sweep run
  }
  if (opts.only && !isSweep)
    throw new FaceMaeError(
      `--only runs one step of an existing sweep, and ${out} holds none: run the sweep there first`,
      'E_CONFIG',
    );
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0 && !opts.overwrite) {
    if (!isSweep) {
      throw new FaceMaeError(
        `output folder ${out} is not empty and is not a sweep run: pick another --out or pass --overwrite`,
        'E_OUT_EXISTS',
      );
    }
    if (!opts.only)
      opts.onLog?.(`continuing the sweep in ${out} (finished steps with unchanged config are reused)`);
  }
}

/** Runs the sweep of `cfg` (loadSweepConfig) in its run folder; returns the report and every step's outcome. */
export async function runSweep(cfg: SweepConfig, opts: SweepOptions = {}): Promise<SweepResult> {
  const out = path.resolve(opts.out ?? path.join('runs', cfg.name));
  checkRunFolder(out, opts);
  const log = opts.onLog ?? (() => {});
  const stepsDir = path.join(out, 'steps');
  fs.mkdirSync(stepsDir, { recursive: true });
  if (!opts.only) saveResolvedConfig(out, 'sweep', cfg);
  const plan = planSweep(cfg, {
    out,
    deps: opts.deps ?? defaultSweepDeps({ onWarning: opts.onLog }),
    log,
    progress: (id) => (d, t, s) => opts.onProgress?.(id, d, t, s),
  });
  const execute = opts.execute;
  let outcomes: Map<string, StepOutcome>;
  try {
    outcomes = await runSteps(runnerSteps(plan), {
      dir: stepsDir,
      jobs: opts.jobs,
      execute: execute ? (step) => execute(step.id, out) : undefined,
      only: opts.only,
      onEvent: (e) => {
        if (opts.only) return; // a child of --jobs: the parent says when its step starts and ends
        if (e.type === 'start') log(`[${e.index + 1}/${e.total}] ${e.id} …`);
        else if (e.outcome.status !== 'cached')
          log(
            `  ${e.outcome.id}: ${e.outcome.status}${e.outcome.error ? ` (${e.outcome.error})` : ''} in ${e.seconds.toFixed(1)} s`,
          );
      },
    });
  } finally {
    await plan.dispose();
  }

  const grid = outcomeOf(outcomes, plan.grid)?.result;
  const data = sweepReportData({
    name: cfg.name,
    seed: cfg.seed,
    verify: cfg.verify,
    attackers: sweepAttackers(cfg).map((a) => a.name),
    teacher: cfg.teacher,
    config: cfg,
    rows: plan.rows.map(({ row, privacy, verify }) => ({
      id: row.id,
      method: row.method,
      label: row.label,
      ...('strength' in row ? { strength: row.strength } : {}),
      ...('pasteBack' in row && row.pasteBack !== undefined ? { pasteBack: row.pasteBack } : {}),
      privacy: outcomeOf(outcomes, privacy),
      verify: verify && outcomeOf(outcomes, verify),
    })),
    mae: outcomeOf(outcomes, plan.mae)?.result,
    grid: grid && { rows: grid.rows, columns: plan.gridColumns, cell: cfg.size },
    steps: [...outcomes.values()],
  });
  if (opts.only) return { report: '', out, outcomes, data };
  const reportDir = path.join(out, 'report');
  // (a grid restored from a done-marker alone, without its image, is left out of the report)
  if (grid?.file && fs.existsSync(grid.file)) {
    fs.mkdirSync(reportDir, { recursive: true });
    fs.copyFileSync(grid.file, path.join(reportDir, 'grid.png'));
  }
  const report = await writeReport(reportDir, data);
  writeJsonAtomic(
    path.join(reportDir, 'evidence.json'),
    toEvidence(
      data,
      protocolOf(cfg),
      Object.fromEntries(plan.rows.map((p) => [p.row.id, rowEvidence(p, outcomes)])),
    ),
  );
  return { report, out, outcomes, data };
}

/** A row's recognizer training steps and the wall time of its steps (protection, attack, recognizer, verification). */
function rowEvidence(
  p: PlannedRow,
  outcomes: ReadonlyMap<string, StepOutcome>,
): { steps?: number; seconds: number } {
  const fr = p.fr && outcomeOf(outcomes, p.fr)?.result;
  // Steps cached by an older sweep carry no count: the run's checkpoint has it.
  const steps = typeof fr?.steps === 'number' ? fr.steps : stepsOfRun(fr?.run);
  const ids = [p.row.id, ROW_STEP.privacy(p.row.id), ROW_STEP.fr(p.row.id), ROW_STEP.verify(p.row.id)];
  const seconds = ids.reduce((a, id) => a + (outcomes.get(id)?.seconds ?? 0), 0);
  return { ...(steps === null ? {} : { steps }), seconds };
}

/** The step count of a recognizer run folder (null when there is none to read). */
function stepsOfRun(run: string | undefined): number | null {
  if (run === undefined || !hasCheckpoint(run)) return null;
  return readCheckpointInfo(run).step;
}

/** What a results file must state to be reproduced: the sets, models, attackers and recipe. */
function protocolOf(cfg: SweepConfig): Record<string, unknown> {
  return {
    name: cfg.name,
    seed: cfg.seed,
    size: cfg.size,
    train: cfg.train,
    split: cfg.split,
    deploy: cfg.deploy || null,
    verify: cfg.verify,
    teacher: cfg.teacher,
    attackers: sweepAttackers(cfg).map((a) => a.name),
    privacyImagesPerIdentity: cfg.privacyImagesPerIdentity,
    publicImagesPerIdentity: cfg.publicImagesPerIdentity,
    mae: cfg.mae,
    ablation: cfg.ablation,
    maskRatios: cfg.maskRatios,
    baselines: cfg.baselines,
    recognizer: cfg.recognizer,
    utility: cfg.utility,
  };
}
