/**
 * Shared by `facemae sweep` and `facemae demo`: resolve the sweep config (defaults < file < --set),
 * guard the output folder, run the sweep with the real dependencies, return where the report is.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaceMaeError } from '../core/errors.js';
import { loadSweepConfig } from './config.js';
import { defaultSweepDeps } from './integrations.js';
import { runSweep, type SweepDeps } from './sweep.js';
import type { StepOutcome } from './runner.js';

/** The package root (configs/, assets/ live there), from src/sweep or dist/sweep. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO_CONFIG = path.join(PACKAGE_ROOT, 'configs', 'demo.json');
export { loadSweepConfig };

/**
 * Runs one step as `facemae sweep --only ID` in a child process (same CLI entry and Node flags,
 * so it also works under tsx), with `threads` BLAS threads unless FACEMAE_THREADS is set; its
 * stderr lines are passed to `onLog` prefixed with the step id. Rejects when it exits non-zero.
 */
function childStepRunner(
  args: { configFile: string; out: string; set: string[]; threads: number },
  onLog: (m: string) => void,
): (stepId: string) => Promise<void> {
  return (stepId) =>
    new Promise<void>((resolve, reject) => {
      const argv = [
        ...process.execArgv,
        process.argv[1]!,
        'sweep',
        '--config',
        args.configFile,
        '--out',
        args.out,
        '--only',
        stepId,
        ...args.set.flatMap((x) => ['--set', x]),
      ];
      const env = { ...process.env, FACEMAE_THREADS: process.env.FACEMAE_THREADS ?? String(args.threads) };
      // the IPC channel is only a lifeline: the child exits when it closes (src/cli/parent.ts)
      const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
      let last = '';
      let buf = '';
      const stderr = child.stderr!; // 'pipe' above (the 4-entry stdio loses the type)
      stderr.setEncoding('utf8');
      stderr.on('data', (chunk: string) => {
        buf += chunk;
        const lines = buf.split(/\r?\n|\r/);
        buf = lines.pop() ?? '';
        for (const l of lines)
          if (l.trim()) {
            last = l.trim();
            onLog(`[${stepId}] ${l}`);
          }
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else
          reject(
            new Error(`facemae sweep --only ${stepId} exited with code ${code}${last ? `: ${last}` : ''}`),
          );
      });
    });
}

export async function runSweepCommand(opts: {
  configFile: string;
  out?: string;
  overrides?: Record<string, unknown>;
  /** The `--set` strings as given (passed on to the child processes of `jobs` > 1). */
  setArgs?: string[];
  /** Steps at once; above 1 each heavy step runs in a child process with cores/jobs BLAS threads. */
  jobs?: number;
  /** Run just this step (its dependencies must be done); the report is not written. */
  only?: string;
  overwrite?: boolean;
  deps?: SweepDeps;
  onLog?: (m: string) => void;
  onProgress?: (step: string, done: number, total: number, status?: string) => void;
}): Promise<{ report: string; out: string; outcomes: Map<string, StepOutcome> }> {
  const cfg = loadSweepConfig(opts.configFile, opts.overrides);
  const out = path.resolve(opts.out ?? path.join('runs', cfg.name));
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new FaceMaeError(`--jobs must be a whole number >= 1, got ${String(opts.jobs)}`, 'E_CONFIG');
  if (opts.only && jobs > 1) throw new FaceMaeError('--only runs one step: it takes no --jobs', 'E_CONFIG');
  let isSweep = false;
  try {
    const prev = path.join(out, 'config.json');
    isSweep = (JSON.parse(fs.readFileSync(prev, 'utf8')) as { command?: string }).command === 'sweep';
  } catch {
    isSweep = false; // no readable config.json: not a sweep run
  }
  // (a step run alone writes no config.json, so it must not start a folder of its own)
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
  const r = await runSweep(cfg, {
    out,
    deps: opts.deps ?? defaultSweepDeps({ onWarning: opts.onLog }),
    onLog: opts.onLog,
    onProgress: opts.onProgress,
    jobs,
    only: opts.only,
    execute:
      jobs > 1
        ? childStepRunner(
            {
              configFile: path.resolve(opts.configFile),
              out,
              set: opts.setArgs ?? [],
              threads: Math.max(1, Math.floor(os.availableParallelism() / jobs)),
            },
            opts.onLog ?? (() => {}),
          )
        : undefined,
  });
  return { report: r.report, out, outcomes: r.outcomes };
}
