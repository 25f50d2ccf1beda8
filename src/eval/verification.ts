/**
 * Face verification as insightface's recognition/arcface_torch/eval/verification.py does it:
 * pairs interleaved (emb[0::2] vs emb[1::2]), embedding = normalise(f(x) + f(flip x)), squared L2
 * distance, thresholds 0..4 step 0.01, 10 folds (sklearn KFold, no shuffle): the best threshold on
 * 9 folds is scored on the 10th; accuracy mean ± std (population std, as np.std); TAR@FAR=1e-3 with
 * thresholds 0..4 step 0.001 interpolated as scipy's interp1d; the ROC curve.
 * The metric functions are pure, over Float32Array; `evaluateVerification` computes embeddings.
 */
import { FaceMaeError } from '../core/errors.js';
import type { Embedder, OnProgress, RgbImage } from '../types.js';
import { embedImages } from './embed.js';

/** insightface's `np.arange(0, 4, step)`. */
export function thresholdGrid(step: number, max = 4): Float64Array {
  const n = Math.ceil(max / step - 1e-9);
  return Float64Array.from({ length: n }, (_, i) => i * step);
}

/** Squared L2 distance between interleaved rows: emb [2P × D] -> [P]. Embeddings are expected normalised. */
export function pairDistances(emb: Float32Array, dim: number): Float32Array {
  const pairs = Math.floor(emb.length / dim / 2);
  const out = new Float32Array(pairs);
  for (let p = 0; p < pairs; p++) {
    let s = 0;
    const a = 2 * p * dim;
    const b = a + dim;
    for (let k = 0; k < dim; k++) {
      const d = (emb[a + k] as number) - (emb[b + k] as number);
      s += d * d;
    }
    out[p] = s;
  }
  return out;
}

/** sklearn KFold(n_splits=k, shuffle=False): contiguous folds, the first n % k one element larger. */
export function contiguousFolds(n: number, k = 10): Int32Array {
  const folds = new Int32Array(n);
  let start = 0;
  for (let f = 0; f < k; f++) {
    const size = Math.floor(n / k) + (f < n % k ? 1 : 0);
    folds.fill(f, start, start + size);
    start += size;
  }
  return folds;
}

interface Counts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Confusion counts at `threshold` (predict same when dist < threshold, strictly, as np.less) over `idx`. */
function countsAt(
  dist: Float32Array,
  issame: ArrayLike<boolean>,
  idx: Int32Array,
  threshold: number,
): Counts {
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const i of idx) {
    const pred = (dist[i] as number) < threshold;
    if (issame[i]) {
      if (pred) c.tp++;
      else c.fn++;
    } else if (pred) c.fp++;
    else c.tn++;
  }
  return c;
}
const accOf = (c: Counts) => (c.tp + c.tn) / Math.max(1, c.tp + c.tn + c.fp + c.fn);
const tprOf = (c: Counts) => (c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn));
const fprOf = (c: Counts) => (c.fp + c.tn === 0 ? 0 : c.fp / (c.fp + c.tn));

function splitFolds(
  n: number,
  folds: ArrayLike<number> | undefined,
  k: number,
): { train: Int32Array; test: Int32Array }[] {
  const f = folds ?? contiguousFolds(n, k);
  if (f.length !== n) throw new FaceMaeError(`folds has ${f.length} entries for ${n} pairs`);
  const ids = [...new Set(Array.from(f))].sort((a, b) => a - b);
  return ids.map((id) => {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (f[i] === id ? test : train).push(i);
    return { train: Int32Array.from(train), test: Int32Array.from(test) };
  });
}

function checkInputs(dist: Float32Array, issame: ArrayLike<boolean>): void {
  if (dist.length !== issame.length) {
    throw new FaceMaeError(
      `${dist.length} distances but ${issame.length} same/different labels: the pairs do not match`,
    );
  }
  if (dist.length < 2) throw new FaceMaeError(`verification needs at least 2 pairs, got ${dist.length}`);
  for (let i = 0; i < dist.length; i++) {
    if (!Number.isFinite(dist[i]))
      throw new FaceMaeError(`distance of pair ${i} is ${dist[i]} (non-finite embeddings?)`);
  }
}

export interface KFoldResult {
  /** Mean test accuracy over folds. */
  accuracy: number;
  /** Population standard deviation over folds (np.std). */
  std: number;
  foldAccuracies: number[];
  /** [P] 1 where pair i is classified correctly at its test fold's threshold (for bootstrap CIs). */
  pairCorrect: Uint8Array;
  /** The threshold each fold chose on its 9 training folds. */
  bestThresholds: number[];
  /** Fold-averaged test TPR/FPR at each threshold (insightface's calculate_roc curve). */
  tpr: number[];
  fpr: number[];
  thresholds: number[];
}

/**
 * insightface calculate_roc: for each fold pick the threshold (first argmax) maximising training
 * accuracy, score the test fold. dist [P] squared L2, issame [P]; folds default to 10 contiguous.
 */
export function kFoldAccuracy(
  dist: Float32Array,
  issame: ArrayLike<boolean>,
  opts: { folds?: ArrayLike<number>; nFolds?: number; thresholds?: Float64Array } = {},
): KFoldResult {
  checkInputs(dist, issame);
  const thresholds = opts.thresholds ?? thresholdGrid(0.01);
  const splits = splitFolds(dist.length, opts.folds, opts.nFolds ?? 10);
  const tpr = new Float64Array(thresholds.length);
  const fpr = new Float64Array(thresholds.length);
  const foldAccuracies: number[] = [];
  const bestThresholds: number[] = [];
  const pairCorrect = new Uint8Array(dist.length);
  for (const { train, test } of splits) {
    let best = -1;
    let bestIdx = 0;
    thresholds.forEach((t, i) => {
      const a = accOf(countsAt(dist, issame, train, t));
      if (a > best) {
        best = a;
        bestIdx = i;
      }
      const c = countsAt(dist, issame, test, t);
      tpr[i] = (tpr[i] as number) + tprOf(c) / splits.length;
      fpr[i] = (fpr[i] as number) + fprOf(c) / splits.length;
    });
    const thr = thresholds[bestIdx] as number;
    bestThresholds.push(thr);
    foldAccuracies.push(accOf(countsAt(dist, issame, test, thr)));
    for (const i of test) pairCorrect[i] = (dist[i] as number) < thr === Boolean(issame[i]) ? 1 : 0;
  }
  const mean = foldAccuracies.reduce((a, b) => a + b, 0) / foldAccuracies.length;
  const std = Math.sqrt(foldAccuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / foldAccuracies.length);
  return {
    accuracy: mean,
    std,
    foldAccuracies,
    pairCorrect,
    bestThresholds,
    tpr: Array.from(tpr),
    fpr: Array.from(fpr),
    thresholds: Array.from(thresholds),
  };
}

/**
 * scipy interp1d(x, y, kind='linear') at xNew, x sorted ascending with possible repeats:
 * searchsorted(left), clipped to [1, n−1], a line between points lo = idx−1 and hi = idx.
 */
function interp1d(x: Float64Array, y: Float64Array, xNew: number): number {
  const n = x.length;
  let idx = 0;
  while (idx < n && (x[idx] as number) < xNew) idx++;
  idx = Math.min(Math.max(idx, 1), n - 1);
  const x0 = x[idx - 1] as number;
  const x1 = x[idx] as number;
  const y0 = y[idx - 1] as number;
  const y1 = y[idx] as number;
  if (x1 === x0) return y1;
  return y0 + ((y1 - y0) * (xNew - x0)) / (x1 - x0);
}

export interface TarAtFarResult {
  /** Mean TAR (insightface's "val") over folds at the threshold giving FAR = target on training folds. */
  tar: number;
  tarStd: number;
  /** Mean FAR actually reached on the test folds. */
  far: number;
  target: number;
}

/**
 * insightface calculate_val: per fold, the threshold where training FAR reaches `target`
 * (interpolated on thresholds 0..4 step 0.001; 0 when FAR never reaches it), then TAR/FAR on the test fold.
 */
export function tarAtFar(
  dist: Float32Array,
  issame: ArrayLike<boolean>,
  target = 1e-3,
  opts: { folds?: ArrayLike<number>; nFolds?: number; thresholds?: Float64Array } = {},
): TarAtFarResult {
  checkInputs(dist, issame);
  const thresholds = opts.thresholds ?? thresholdGrid(0.001);
  const splits = splitFolds(dist.length, opts.folds, opts.nFolds ?? 10);
  const tars: number[] = [];
  const fars: number[] = [];
  for (const { train, test } of splits) {
    // FAR on the training folds at every threshold, via sorted different-pair distances.
    const diff = Float64Array.from(
      Array.from(train)
        .filter((i) => !issame[i])
        .map((i) => dist[i] as number),
    ).sort();
    const farTrain = new Float64Array(thresholds.length);
    let j = 0;
    thresholds.forEach((t, i) => {
      while (j < diff.length && (diff[j] as number) < t) j++;
      farTrain[i] = diff.length ? j / diff.length : 0;
    });
    let maxFar = 0;
    for (const f of farTrain) maxFar = Math.max(maxFar, f);
    // interp1d sorts by x: FAR is non-decreasing in the threshold, so the grid order already is.
    const thr = maxFar >= target ? interp1d(farTrain, thresholds, target) : 0;
    const c = countsAt(dist, issame, test, thr);
    tars.push(c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn));
    fars.push(c.fp + c.tn === 0 ? 0 : c.fp / (c.fp + c.tn));
  }
  const tar = tars.reduce((a, b) => a + b, 0) / tars.length;
  const tarStd = Math.sqrt(tars.reduce((a, b) => a + (b - tar) ** 2, 0) / tars.length);
  return { tar, tarStd, far: fars.reduce((a, b) => a + b, 0) / fars.length, target };
}

export interface RocCurve {
  thresholds: number[];
  tpr: number[];
  fpr: number[];
  /** Area under the (fpr, tpr) curve by the trapezoid rule. */
  auc: number;
}

/** TPR/FPR over all pairs at every threshold (0..4 step 0.01 unless given), plus AUC. */
export function rocCurve(
  dist: Float32Array,
  issame: ArrayLike<boolean>,
  thresholds = thresholdGrid(0.01),
): RocCurve {
  checkInputs(dist, issame);
  const all = Int32Array.from({ length: dist.length }, (_, i) => i);
  const tpr: number[] = [];
  const fpr: number[] = [];
  for (const t of thresholds) {
    const c = countsAt(dist, issame, all, t);
    tpr.push(tprOf(c));
    fpr.push(fprOf(c));
  }
  // Close the curve at (1, 1): a threshold above every distance accepts everything.
  const xs = [...fpr, 1];
  const ys = [...tpr, 1];
  let auc = 0;
  for (let i = 1; i < xs.length; i++)
    auc += (((xs[i] as number) - (xs[i - 1] as number)) * ((ys[i] as number) + (ys[i - 1] as number))) / 2;
  return { thresholds: Array.from(thresholds), tpr, fpr, auc };
}

export interface VerificationSetLike {
  name: string;
  images: RgbImage[];
  issame: boolean[];
  folds?: number[];
}

export interface VerificationResult {
  name: string;
  pairs: number;
  accuracy: number;
  std: number;
  /** Mean of the per-fold best thresholds (squared L2). */
  threshold: number;
  tarAtFar: TarAtFarResult;
  roc: RocCurve;
  foldAccuracies: number[];
  /** [P] per-pair correctness at each fold's threshold (see kFoldAccuracy). */
  pairCorrect: Uint8Array;
  flip: boolean;
  embedder: string;
  seconds: number;
}

/** Checks a set's shape: 2P images for P labels, all the embedder's input size. */
export function checkVerificationSet(set: VerificationSetLike, inputSize?: number): void {
  if (set.images.length !== 2 * set.issame.length) {
    throw new FaceMaeError(
      `verification set ${set.name}: ${set.images.length} images for ${set.issame.length} pairs (expected ${2 * set.issame.length})`,
    );
  }
  if (inputSize) {
    set.images.forEach((im, i) => {
      if (im.width !== inputSize || im.height !== inputSize) {
        throw new FaceMaeError(
          `verification set ${set.name}: image ${i} is ${im.width}×${im.height}, the model needs ${inputSize}×${inputSize}`,
        );
      }
    });
  }
}

/**
 * Embeds every image of `set` (flip TTA by default), then k-fold accuracy, TAR@FAR=1e-3 and ROC.
 * Repeated images (LFW reuses files) are embedded once when they share one RgbImage object.
 */
export async function evaluateVerification(
  embedder: Embedder,
  set: VerificationSetLike,
  opts: { flip?: boolean; batchSize?: number; onProgress?: OnProgress; farTarget?: number } = {},
): Promise<VerificationResult> {
  const start = Date.now();
  checkVerificationSet(set, embedder.inputSize);
  const flip = opts.flip ?? true;
  const unique = [...new Set(set.images)];
  const index = new Map(unique.map((im, i) => [im, i]));
  const embU = await embedImages(embedder, unique, {
    flip,
    batchSize: opts.batchSize,
    onProgress: opts.onProgress,
  });
  const d = embedder.embeddingDim;
  const emb = new Float32Array(set.images.length * d);
  set.images.forEach((im, i) =>
    emb.set(embU.subarray((index.get(im) as number) * d, ((index.get(im) as number) + 1) * d), i * d),
  );
  const dist = pairDistances(emb, d);
  const kf = kFoldAccuracy(dist, set.issame, { folds: set.folds });
  const tar = tarAtFar(dist, set.issame, opts.farTarget ?? 1e-3, { folds: set.folds });
  return {
    name: set.name,
    pairs: set.issame.length,
    accuracy: kf.accuracy,
    std: kf.std,
    threshold: kf.bestThresholds.reduce((a, b) => a + b, 0) / kf.bestThresholds.length,
    tarAtFar: tar,
    roc: rocCurve(dist, set.issame),
    foldAccuracies: kf.foldAccuracies,
    pairCorrect: kf.pairCorrect,
    flip,
    embedder: embedder.name,
    seconds: (Date.now() - start) / 1000,
  };
}
