/**
 * Shared by `facemae sweep` and `facemae demo`: resolve the sweep config (defaults < file < --set),
 * guard the output folder, run the sweep with the real dependencies, return where the report is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkKnownKeys, loadConfigFile, resolveConfig, type DeepPartial } from '../config/resolve.js';
import { FaceMaeError } from '../core/errors.js';
import { DEFAULT_SWEEP_CONFIG, SWEEP_CONFIG_KEYS, resolveSweepPaths, type SweepConfig } from './config.js';
import { defaultSweepDeps } from './integrations.js';
import { runSweep, type SweepDeps } from './sweep.js';
import type { StepOutcome } from './runner.js';

/** The package root (configs/, assets/ live there), from src/sweep or dist/sweep. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO_CONFIG = path.join(PACKAGE_ROOT, 'configs', 'demo.json');

/**
 * defaults < file < `--set` overrides; every key is checked, the training sections against
 * their trainers' keys (SWEEP_CONFIG_KEYS). Relative paths resolve against the file's folder.
 */
export function loadSweepConfig(configFile: string, overrides: Record<string, unknown> = {}): SweepConfig {
  const file = loadConfigFile(configFile);
  for (const [v, where] of [
    [file, configFile],
    [overrides, '--set'],
  ] as const) {
    if ('attacker' in v && 'attackers' in v)
      throw new FaceMaeError(
        `${where}: give "attackers" (a list) or the legacy "attacker", not both`,
        'E_CONFIG',
      );
  }
  checkKnownKeys(SWEEP_CONFIG_KEYS, file, '', configFile);
  checkKnownKeys(SWEEP_CONFIG_KEYS, overrides, '', '--set');
  const cfg = resolveConfig<SweepConfig>({
    defaults: DEFAULT_SWEEP_CONFIG,
    fileConfig: file as DeepPartial<SweepConfig>,
    flags: overrides as DeepPartial<SweepConfig>,
    keys: SWEEP_CONFIG_KEYS,
  });
  return resolveSweepPaths(cfg, path.dirname(path.resolve(configFile)));
}

export async function runSweepCommand(opts: {
  configFile: string;
  out?: string;
  overrides?: Record<string, unknown>;
  overwrite?: boolean;
  deps?: SweepDeps;
  onLog?: (m: string) => void;
  onProgress?: (step: string, done: number, total: number, status?: string) => void;
}): Promise<{ report: string; out: string; outcomes: Map<string, StepOutcome> }> {
  const cfg = loadSweepConfig(opts.configFile, opts.overrides);
  const out = path.resolve(opts.out ?? path.join('runs', cfg.name));
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0 && !opts.overwrite) {
    const prev = path.join(out, 'config.json');
    let isSweep = false;
    try {
      isSweep = (JSON.parse(fs.readFileSync(prev, 'utf8')) as { command?: string }).command === 'sweep';
    } catch {
      isSweep = false;
    }
    if (!isSweep) {
      throw new FaceMaeError(
        `output folder ${out} is not empty and is not a sweep run: pick another --out or pass --overwrite`,
        'E_OUT_EXISTS',
      );
    }
    opts.onLog?.(`continuing the sweep in ${out} (finished steps with unchanged config are reused)`);
  }
  const r = await runSweep(cfg, {
    out,
    deps: opts.deps ?? defaultSweepDeps({ onWarning: opts.onLog }),
    onLog: opts.onLog,
    onProgress: opts.onProgress,
  });
  return { report: r.report, out, outcomes: r.outcomes };
}
