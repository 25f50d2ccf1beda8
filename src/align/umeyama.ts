/**
 * Least-squares similarity transform (rotation, uniform scale, translation; no reflection), as in
 * Umeyama 1991 and skimage's `SimilarityTransform.estimate` used by insightface's `estimate_norm`.
 * In 2-D the SVD solution has a closed form: writing points as complex numbers, the optimal map is
 * z -> s·z + t with s = Σ conj(p_i) q_i / Σ |p_i|² over centred points (a rotation-scale, so never a
 * reflection, which is what Umeyama's det-sign correction enforces).
 */
import { FaceMaeError } from '../core/errors.js';
import type { Affine } from './types.js';

/** src, dst: n × [x, y] (n ≥ 2) -> the 2×3 matrix M minimising Σ |M·src_i − dst_i|². */
export function estimateSimilarity(
  src: ReadonlyArray<readonly [number, number]>,
  dst: ReadonlyArray<readonly [number, number]>,
): Affine {
  const n = src.length;
  if (n < 2 || dst.length !== n) {
    throw new FaceMaeError(`estimateSimilarity needs ≥ 2 matching point pairs, got ${n} and ${dst.length}`);
  }
  let msx = 0;
  let msy = 0;
  let mdx = 0;
  let mdy = 0;
  for (let i = 0; i < n; i++) {
    const s = src[i] as readonly [number, number];
    const d = dst[i] as readonly [number, number];
    msx += s[0];
    msy += s[1];
    mdx += d[0];
    mdy += d[1];
  }
  msx /= n;
  msy /= n;
  mdx /= n;
  mdy /= n;
  let num_re = 0;
  let num_im = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const s = src[i] as readonly [number, number];
    const d = dst[i] as readonly [number, number];
    const px = s[0] - msx;
    const py = s[1] - msy;
    const qx = d[0] - mdx;
    const qy = d[1] - mdy;
    // conj(p)·q
    num_re += px * qx + py * qy;
    num_im += px * qy - py * qx;
    den += px * px + py * py;
  }
  if (!(den > 1e-12))
    throw new FaceMaeError('estimateSimilarity: source points are all identical (degenerate landmarks)');
  const a = num_re / den;
  const b = num_im / den;
  // [a −b; b a] is rotation × scale.
  const tx = mdx - (a * msx - b * msy);
  const ty = mdy - (b * msx + a * msy);
  return [a, -b, tx, b, a, ty];
}

/** Applies M to (x, y). */
export function applyAffine(m: Affine, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/** Inverse of a 2×3 affine map; throws on a singular matrix. */
export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new FaceMaeError('invertAffine: singular transform');
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}
