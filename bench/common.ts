/** Shared bench plumbing: timing, peak RSS, running the PyTorch peer, printing the comparison. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resetKernelProfile, tf, type EngineInfo } from '../src/engine/index.js';
import { FaceMaeError } from '../src/core/errors.js';
import { gemmSplitOn } from '../src/engine/blas.js';

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
  /** Bytes on the peer's stdin (e.g. the teacher's weights). */
  input?: Uint8Array,
): (Result & Record<string, unknown>) | null {
  const script = path.join(here, 'peers', `${name}.py`);
  if (!fs.existsSync(PYTHON)) {
    console.log(`peer: ${PYTHON} not found (apt-get install python3-torch), skipping PyTorch`);
    return null;
  }
  const r = spawnSync(PYTHON, [script, JSON.stringify(cfg)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    ...(input ? { input } : {}),
  });
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

/** Runs `warmup` untimed then `steps` timed calls of `step(i)` (i counts from 0); img/s from wall time. */
export async function timeSteps(
  step: (i: number) => Promise<void>,
  batch: number,
  warmup: number,
  steps: number,
  afterWarmup?: () => void,
): Promise<Result> {
  let i = 0;
  for (; i < warmup; i++) await step(i);
  afterWarmup?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (; i < warmup + steps; i++) await step(i);
  const dt = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return {
    imgPerSec: (batch * steps * 1000) / dt,
    stepMs: dt / steps,
    cpuMsPerStep: (c.user + c.system) / 1000 / steps,
    peakRssMb: peakRssMb(),
  };
}

/**
 * Times a training step (`run(i)` is step i) with the kernel profile reset after the warm-up;
 * a failing step (other than a config error) is reported with the batch and the usual cause. Returns the timing and the last
 * step's result.
 */
export async function timeTrainSteps<R>(
  label: string,
  run: (i: number) => Promise<R>,
  batch: number,
  warmup: number,
  steps: number,
): Promise<{ result: Result; last: R | null }> {
  let last: R | null = null;
  try {
    const result = await timeSteps(
      async (i) => {
        last = await run(i);
      },
      batch,
      warmup,
      steps,
      resetKernelProfile,
    );
    return { result, last };
  } catch (e) {
    if (e instanceof FaceMaeError) throw e; // a config error that says what to change
    throw new Error(
      `the ${label} step failed at batch ${batch} (${(e as Error).message}); ` +
        'if wasm memory ran out (4 GB), lower --batch (the trainers have no micro-batching)',
    );
  }
}

/** SIMD feature flags worth naming (x86 and Arm), in this order. */
const SIMD_FLAGS = [
  'sse4_2',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512_vnni',
  'avx512_bf16',
  'amx_tile',
  'asimd',
  'sve',
  'sve2',
];

/** The CPU model and the SIMD flags it has, from `lscpu` (os.cpus() where lscpu is missing). */
export function cpuInfo(): { model: string; simd: string[]; cores: number } {
  const cores = os.availableParallelism();
  const r = spawnSync('lscpu', [], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const field = (name: string): string | undefined =>
    r.status === 0
      ? r.stdout
          .split('\n')
          .find((l) => l.startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim()
      : undefined;
  const model = field('Model name') ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = new Set((field('Flags') ?? '').split(/\s+/));
  return { model, simd: SIMD_FLAGS.filter((f) => flags.has(f)), cores };
}

/** Prints the CPU line every bench starts with. */
export function printCpu(): void {
  const c = cpuInfo();
  console.log(
    `cpu: ${c.model}; ${c.cores} cores; simd: ${c.simd.length ? c.simd.join(' ') : 'unknown (no lscpu flags)'}`,
  );
  // an instruction-set cap on the libraries (e.g. AVX2 code paths on an AVX-512 CPU) is part of the figure
  const caps = ['OPENBLAS_CORETYPE', 'ATEN_CPU_CAPABILITY', 'DNNL_MAX_CPU_ISA', 'FACEMAE_NATIVE_MARCH']
    .filter((k) => process.env[k])
    .map((k) => `${k}=${process.env[k]}`);
  if (caps.length) console.log(`isa caps: ${caps.join(' ')}`);
}

/**
 * `rounds` rounds of: our `timed(round)` steps, then the peer's run. Alternating spreads a drift
 * in the machine's speed over both sides: on the 2-core VMs here the same step's time moves by
 * ±20% within minutes, so one pair of runs can land on either side of a target.
 */
export async function alternate(
  rounds: number,
  timed: (round: number) => Promise<Result>,
  peer: (() => (Result & Record<string, unknown>) | null) | null,
): Promise<{ ours: Result[]; peers: (Result & Record<string, unknown>)[] }> {
  const ours: Result[] = [];
  const peers: (Result & Record<string, unknown>)[] = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(await timed(r));
    const p = peer?.() ?? null;
    if (p) peers.push(p);
  }
  return { ours, peers };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * `report` over rounds: one line per round, then `ratio:` as the median of the rounds' ratios
 * (with their range) and `rss ratio:` from the peaks. One round prints exactly as `report`.
 */
export function reportRounds(label: string, ours: Result[], peers: Result[], peerName = 'pytorch'): void {
  if (ours.length === 1) return report(label, ours[0]!, peers[0] ?? null, peerName);
  const paired = peers.length === ours.length;
  const ratios = paired ? ours.map((o, i) => o.imgPerSec / peers[i]!.imgPerSec) : [];
  ours.forEach((o, i) => {
    const p = paired ? peers[i]! : null;
    console.log(
      `round ${i + 1}: ours ${o.imgPerSec.toFixed(2)} img/s (cpu ${(o.cpuMsPerStep ?? NaN).toFixed(0)} ms/step)` +
        (p
          ? `, ${peerName} ${p.imgPerSec.toFixed(2)} img/s (cpu ${(p.cpuMsPerStep ?? NaN).toFixed(0)} ms/step), ratio ${ratios[i]!.toFixed(2)}`
          : ''),
    );
  });
  const pick = (rs: Result[]): Result => {
    const med = median(rs.map((r) => r.imgPerSec));
    const best = rs.reduce((a, b) => (Math.abs(b.imgPerSec - med) < Math.abs(a.imgPerSec - med) ? b : a));
    return { ...best, peakRssMb: Math.max(...rs.map((r) => r.peakRssMb)) };
  };
  const o = pick(ours);
  const p = paired ? pick(peers) : null;
  const f = (r: Result) =>
    `${r.imgPerSec.toFixed(2)} img/s median of ${ours.length} rounds (peak RSS ${r.peakRssMb.toFixed(0)} MB)`;
  console.log(`${label} ours:    ${f(o)}`);
  if (p) console.log(`${label} ${peerName}: ${f(p)}`);
  console.log(`load average: ${loadAverage()} on ${os.availableParallelism()} cores`);
  console.log(
    paired
      ? `ratio: ${median(ratios).toFixed(2)} (img/s, ours / ${peerName}; median of ${ratios.length} rounds, range ` +
          `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`
      : `ratio: n/a (img/s, ours / ${peerName})`,
  );
  console.log(
    `rss ratio: ${p ? (o.peakRssMb / p.peakRssMb).toFixed(2) : 'n/a'} (peak RSS, ours / ${peerName})`,
  );
}

/** Prints ours and the peer, then the `ratio:` (img/s, ours / the peer) and `rss ratio:` lines. */
export function report(label: string, ours: Result, peer: Result | null, peerName = 'pytorch'): void {
  const f = (r: Result) =>
    `${r.imgPerSec.toFixed(2)} img/s (${r.stepMs.toFixed(0)} ms/step, cpu ${(r.cpuMsPerStep ?? NaN).toFixed(0)} ms/step, ` +
    `peak RSS ${r.peakRssMb.toFixed(0)} MB)`;
  console.log(`${label} ours:    ${f(ours)}`);
  if (peer) console.log(`${label} ${peerName}: ${f(peer)}`);
  console.log(`load average: ${loadAverage()} on ${os.availableParallelism()} cores`);
  if (peer?.cpuMsPerStep && ours.cpuMsPerStep) {
    console.log(
      `cpu-time ratio (${peerName} cpu ms / ours): ${(peer.cpuMsPerStep / ours.cpuMsPerStep).toFixed(2)}`,
    );
  }
  console.log(
    `ratio: ${peer ? (ours.imgPerSec / peer.imgPerSec).toFixed(2) : 'n/a'} (img/s, ours / ${peerName})`,
  );
  console.log(
    `rss ratio: ${peer ? (ours.peakRssMb / peer.peakRssMb).toFixed(2) : 'n/a'} (peak RSS, ours / ${peerName})`,
  );
}

/** The `engine:` line: backend, BLAS (and its kernel set), threads, the native kernels. */
export function engineLine(info: EngineInfo): string {
  const native =
    'library' in info.native
      ? `native kernels ${info.native.library} on ${info.native.threads} threads`
      : `native kernels off (${info.native.off})`;
  const split =
    'library' in info.native && gemmSplitOn()
      ? ', GEMM rows split over the native threads'
      : ', GEMM split off (OpenBLAS threads)';
  return (
    `engine: backend ${tf.getBackend()}, BLAS ${info.blas ?? 'off'}${info.blasCore ? ` (kernels ${info.blasCore})` : ''}, ` +
    `threads ${info.threads}${split}; ${native}`
  );
}

/** Engine flags every training bench takes. */
export function engineOptions(f: Map<string, string>): { blas: 'off' | 'auto' } {
  return { blas: f.get('blas') === 'off' ? 'off' : 'auto' };
}

/** Parses `--key value` / `--key=value` flags after the bench name; other keys and words are refused. */
export function flags(argv: string[], known: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}" (flags are --key value)`);
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
  for (const k of m.keys())
    if (!known.includes(k))
      throw new Error(`unknown flag --${k}; known: ${known.map((x) => `--${x}`).join(' ')}`);
  return m;
}

/** A positive integer flag. */
export function num(f: Map<string, string>, key: string, dflt: number): number {
  const v = f.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`--${key} must be an integer >= 0 (got "${v}")`);
  return n;
}
