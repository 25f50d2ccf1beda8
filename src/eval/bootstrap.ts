/**
 * Confidence intervals for verification accuracy, over pairs (the unit the benchmark samples):
 * a percentile bootstrap for one recognizer, and a paired bootstrap for the difference between
 * two recognizers scored on the same pairs (the pairs' shared difficulty cancels, so real
 * differences are separated from noise far better than by comparing two separate intervals).
 * Pure functions over per-pair correctness vectors (1 = the pair was classified correctly at its
 * fold's threshold, see kFoldAccuracy's `pairCorrect`).
 */
import { FaceMaeError } from '../core/errors.js';
import { createRng } from '../core/rng.js';

export interface BootstrapOptions {
  /** Resamples (default 2000). */
  samples?: number;
  /** Seed of the resampling (default 0): equal inputs give equal intervals. */
  seed?: number;
  /** Two-sided level (default 0.95). */
  level?: number;
}

export interface PairedDifference {
  /** accuracy(a) − accuracy(b) on the same pairs. */
  diff: number;
  ci95: [number, number];
  /** Two-sided bootstrap p-value of "no difference" (share of resampled differences on the other side of 0, doubled). */
  p: number;
  /** The interval excludes 0. */
  significant: boolean;
}

const mean = (v: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] as number;
  return s / v.length;
};

/** Sorted resampled means of `values` (per-pair scores), `samples` times with replacement. */
function resampledMeans(values: Float64Array, o: BootstrapOptions): Float64Array {
  const n = values.length;
  const samples = o.samples ?? 2000;
  const rng = createRng(o.seed ?? 0).fork('bootstrap');
  const means = new Float64Array(samples);
  for (let b = 0; b < samples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)] as number;
    means[b] = s / n;
  }
  return means.sort();
}

function percentiles(sorted: Float64Array, level: number): [number, number] {
  const a = (1 - level) / 2;
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)))]!;
  return [at(a), at(1 - a)];
}

function checkVector(v: ArrayLike<number>, what: string): void {
  if (v.length === 0) throw new FaceMaeError(`${what}: no pairs to bootstrap`, 'E_INPUT');
}

/** Percentile-bootstrap interval of the mean of per-pair correctness `correct` [P]. */
export function bootstrapAccuracyCi(correct: ArrayLike<number>, o: BootstrapOptions = {}): [number, number] {
  checkVector(correct, 'bootstrapAccuracyCi');
  return percentiles(resampledMeans(Float64Array.from(correct), o), o.level ?? 0.95);
}

/** Paired bootstrap of accuracy(a) − accuracy(b); a and b [P] score the same pairs in the same order. */
export function pairedBootstrapDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  o: BootstrapOptions = {},
): PairedDifference {
  checkVector(a, 'pairedBootstrapDifference');
  if (a.length !== b.length)
    throw new FaceMaeError(
      `pairedBootstrapDifference: ${a.length} and ${b.length} pairs; both must score the same pairs`,
      'E_INPUT',
    );
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = (a[i] as number) - (b[i] as number);
  const diff = mean(d);
  const sorted = resampledMeans(d, o);
  const ci95 = percentiles(sorted, o.level ?? 0.95);
  let below = 0;
  let above = 0;
  for (const x of sorted) {
    if (x <= 0) below++;
    if (x >= 0) above++;
  }
  const p = Math.min(1, (2 * Math.min(below, above)) / sorted.length);
  return { diff, ci95, p, significant: ci95[0] > 0 || ci95[1] < 0 };
}

/** An accuracy known only by its value and 95% interval (its per-pair scores were not kept). */
export interface AccuracyWithInterval {
  accuracy: number;
  ci95: readonly [number, number];
}

const Z95 = 1.959963984540054;

/**
 * Standard normal upper tail, 1 − Φ(z) for z ≥ 0: Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7),
 * written here because no small, kept library offers just this.
 */
function normalTail(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return 0.5 * poly * Math.exp(-x * x);
}

/**
 * accuracy(a) − accuracy(b) of two recognizers whose per-pair scores are not both at hand (rows of
 * different runs): each 95% interval's half-width read as 1.96 standard errors, the two taken as
 * independent. Wider than the paired difference of the same rows, since the pairs' shared
 * difficulty does not cancel: a difference it calls significant the paired test would too.
 */
export function unpairedDifference(a: AccuracyWithInterval, b: AccuracyWithInterval): PairedDifference {
  const se = (c: readonly [number, number]) => (c[1] - c[0]) / (2 * Z95);
  const s = Math.hypot(se(a.ci95), se(b.ci95));
  const diff = a.accuracy - b.accuracy;
  const ci95: [number, number] = [diff - Z95 * s, diff + Z95 * s];
  const p = s > 0 ? Math.min(1, 2 * normalTail(Math.abs(diff) / s)) : diff === 0 ? 1 : 0;
  return { diff, ci95, p, significant: ci95[0] > 0 || ci95[1] < 0 };
}
