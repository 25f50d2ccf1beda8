/**
 * The adaptation attacker's map: a ridge regression fitted on the public set A from the attacker's
 * embeddings of protect(A) to its embeddings of A, applied to the released probes before the
 * search. Fitted on the residual (Y − X), so a strong penalty gives back the identity map (the
 * frozen attacker) and the map can only move away from it where A supports it.
 * Pure maths over Float32Array. Written here: a d×d normal-equation solve needs no library.
 */
import { FaceMaeError } from '../core/errors.js';

/** A linear map y = x + x·B, B [d, d]. */
export interface ResidualMap {
  dim: number;
  /** [d, d], row-major (x is a row vector). */
  B: Float64Array;
  alpha: number;
}

/**
 * Fits B = (XᵀX + αI)⁻¹ Xᵀ(Y − X). x, y: [n, d] (rows as given; callers normalise).
 * `alpha` is absolute; `scaledAlpha(c, n, d)` gives one comparable across set sizes.
 */
export function fitResidualRidge(
  x: Float32Array,
  y: Float32Array,
  n: number,
  d: number,
  alpha: number,
): ResidualMap {
  if (x.length !== n * d || y.length !== n * d)
    throw new FaceMaeError(`ridge: expected ${n}×${d} values, got ${x.length} and ${y.length}`, 'E_SHAPE');
  if (!(alpha > 0) || !Number.isFinite(alpha))
    throw new FaceMaeError(`ridge: alpha must be a positive number, got ${alpha}`, 'E_BAD_VALUE');
  const A = new Float64Array(d * d);
  const R = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let p = 0; p < d; p++) {
      const xp = x[o + p] as number;
      if (xp === 0) continue;
      const row = p * d;
      for (let q = 0; q < d; q++) {
        A[row + q]! += xp * (x[o + q] as number);
        R[row + q]! += xp * ((y[o + q] as number) - (x[o + q] as number));
      }
    }
  }
  for (let p = 0; p < d; p++) A[p * d + p]! += alpha;
  choleskyInPlace(A, d);
  // Solve A·B = R column by column of R (all d right-hand sides at once, row-major).
  const B = R;
  for (let p = 0; p < d; p++) {
    // forward: L z = r
    for (let q = 0; q < p; q++) {
      const l = A[p * d + q] as number;
      if (l === 0) continue;
      for (let c = 0; c < d; c++) B[p * d + c]! -= l * (B[q * d + c] as number);
    }
    const inv = 1 / (A[p * d + p] as number);
    for (let c = 0; c < d; c++) B[p * d + c]! *= inv;
  }
  for (let p = d - 1; p >= 0; p--) {
    // backward: Lᵀ b = z
    for (let q = p + 1; q < d; q++) {
      const l = A[q * d + p] as number;
      if (l === 0) continue;
      for (let c = 0; c < d; c++) B[p * d + c]! -= l * (B[q * d + c] as number);
    }
    const inv = 1 / (A[p * d + p] as number);
    for (let c = 0; c < d; c++) B[p * d + c]! *= inv;
  }
  return { dim: d, B, alpha };
}

/** Lower Cholesky factor of a symmetric positive-definite [d, d] matrix, in its lower triangle. */
function choleskyInPlace(a: Float64Array, d: number): void {
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j] as number;
    for (let k = 0; k < j; k++) s -= (a[j * d + k] as number) ** 2;
    if (!(s > 0))
      throw new FaceMaeError('ridge: the normal equations are not positive definite', 'E_NUMERIC');
    const ljj = Math.sqrt(s);
    a[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j] as number;
      for (let k = 0; k < j; k++) t -= (a[i * d + k] as number) * (a[j * d + k] as number);
      a[i * d + j] = t / ljj;
    }
  }
}

/** y = x + x·B for every row of x [n, d]; returns a new array. */
export function applyResidualMap(map: ResidualMap, x: Float32Array, n: number): Float32Array {
  const d = map.dim;
  if (x.length !== n * d)
    throw new FaceMaeError(`map: expected ${n}×${d} values, got ${x.length}`, 'E_SHAPE');
  const out = new Float32Array(x);
  const acc = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    acc.fill(0);
    for (let p = 0; p < d; p++) {
      const xp = x[i * d + p] as number;
      if (xp === 0) continue;
      const row = p * d;
      for (let q = 0; q < d; q++) acc[q]! += xp * (map.B[row + q] as number);
    }
    for (let q = 0; q < d; q++) out[i * d + q]! += acc[q] as number;
  }
  return out;
}

/**
 * An absolute penalty for unit-norm rows: c times the mean diagonal of XᵀX (n/d), so one grid of
 * c means the same for a small and a large A.
 */
export const scaledAlpha = (c: number, n: number, d: number): number => (c * n) / d;
