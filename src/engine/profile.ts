/**
 * Optional per-kernel timer (FACEMAE_PROFILE=1 or `enableKernelProfile()`): wraps every kernel of
 * the active backend to accumulate wall time and calls. The wasm backend is synchronous, so the
 * wall time of a kernel call is its cost. FACEMAE_PROFILE_CLOCK=cpu times process CPU instead
 * (user + system): comparable on a busy machine when the engine runs on one thread
 * (FACEMAE_THREADS=1), where wall time measures the other load too.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelStat {
  name: string;
  calls: number;
  ms: number;
}

const stats = new Map<string, KernelStat>();

function cpuClock(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
const wrapped = new Set<string>();

export function enableKernelProfile(backendName = tf.getBackend()): void {
  const now = process.env.FACEMAE_PROFILE_CLOCK === 'cpu' ? cpuClock : () => performance.now();
  for (const k of tf.getKernelsForBackend(backendName)) {
    const key = `${backendName}:${k.kernelName}`;
    if (wrapped.has(key)) continue;
    const inner = k.kernelFunc;
    const name = k.kernelName;
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const t0 = now();
        const r = inner(args);
        const s = stats.get(name) ?? { name, calls: 0, ms: 0 };
        s.calls++;
        s.ms += now() - t0;
        stats.set(name, s);
        return r;
      },
    });
    wrapped.add(key);
  }
}

export function kernelProfile(): KernelStat[] {
  return [...stats.values()].sort((a, b) => b.ms - a.ms);
}

export function resetKernelProfile(): void {
  stats.clear();
}

/** A table of the `top` costliest kernels. */
export function formatKernelProfile(top = 25): string {
  const all = kernelProfile();
  const total = all.reduce((s, k) => s + k.ms, 0);
  const lines = all
    .slice(0, top)
    .map(
      (k) =>
        `${k.name.padEnd(36)} ${k.ms.toFixed(1).padStart(9)} ms ${String(k.calls).padStart(7)} calls ${((100 * k.ms) / Math.max(total, 1e-9)).toFixed(1).padStart(5)}%`,
    );
  return [`kernels total ${total.toFixed(1)} ms`, ...lines].join('\n');
}
