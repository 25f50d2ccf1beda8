/** Shared bench plumbing: timing, peak RSS, running the PyTorch peer, printing the comparison. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.FACEMAE_PYTHON ?? '/usr/bin/python3';
const here = path.dirname(fileURLToPath(import.meta.url));

export interface Result {
  imgPerSec: number;
  stepMs: number;
  /** CPU time (user+sys, all threads) per step: less sensitive to other load than wall time. */
  cpuMsPerStep?: number;
  peakRssMb: number;
  params?: number;
  loss?: number;
}

/** Peak resident set of this process so far, MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs bench/peers/<name>.py with a JSON config; null (with the reason printed) when unavailable. */
export function runPeer(
  name: string,
  cfg: Record<string, unknown>,
): (Result & Record<string, unknown>) | null {
  const script = path.join(here, 'peers', `${name}.py`);
  if (!fs.existsSync(PYTHON)) {
    console.log(`peer: ${PYTHON} not found (apt-get install python3-torch), skipping PyTorch`);
    return null;
  }
  const r = spawnSync(PYTHON, [script, JSON.stringify(cfg)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.log(
      `peer: PyTorch run failed (exit ${r.status}):\n${(r.stderr ?? '').split('\n').slice(-8).join('\n')}`,
    );
    return null;
  }
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Result & Record<string, unknown>;
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** Runs `warmup` untimed then `steps` timed calls of `step`; img/s from wall time. */
export function timeSteps(
  step: () => void,
  batch: number,
  warmup: number,
  steps: number,
  afterWarmup?: () => void,
): Result {
  for (let i = 0; i < warmup; i++) step();
  afterWarmup?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const dt = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return {
    imgPerSec: (batch * steps * 1000) / dt,
    stepMs: dt / steps,
    cpuMsPerStep: (c.user + c.system) / 1000 / steps,
    peakRssMb: peakRssMb(),
  };
}

export function report(label: string, ours: Result, peer: Result | null): void {
  const f = (r: Result) =>
    `${r.imgPerSec.toFixed(2)} img/s (${r.stepMs.toFixed(0)} ms/step, cpu ${(r.cpuMsPerStep ?? NaN).toFixed(0)} ms/step, ` +
    `peak RSS ${r.peakRssMb.toFixed(0)} MB)`;
  console.log(`${label} tfjs+engine: ${f(ours)}`);
  if (peer) console.log(`${label} pytorch:     ${f(peer)}`);
  console.log(`load average: ${loadAverage()} on ${os.availableParallelism()} cores`);
  if (peer?.cpuMsPerStep && ours.cpuMsPerStep) {
    console.log(
      `cpu-time ratio (pytorch cpu ms / ours): ${(peer.cpuMsPerStep / ours.cpuMsPerStep).toFixed(3)}`,
    );
  }
  console.log(`ratio: ${peer ? (ours.imgPerSec / peer.imgPerSec).toFixed(3) : 'n/a'}`);
}

/** Parses `--key value` / `--key=value` flags after the bench name. */
export function flags(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
    else {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        m.set(a.slice(2), next);
        i++;
      } else m.set(a.slice(2), 'true');
    }
  }
  return m;
}

export function num(f: Map<string, string>, key: string, dflt: number): number {
  const v = f.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key} must be a number (got "${v}")`);
  return n;
}
