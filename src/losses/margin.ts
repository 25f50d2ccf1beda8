/**
 * The combined angular margin of insightface (recognition/arcface_torch/losses.py CombinedMarginLoss):
 * a pure transform of cosine logits. For the target class θ = arccos(cos):
 *   target = cos(m1·θ + m2) − m3,   logits = s · (cos with the target entry replaced).
 * ArcFace = (m1, m2, m3) = (1, 0.5, 0), CosFace = (1, 0, 0.35), SphereFace-style m1 > 1.
 * Numerics as insightface's ArcFace: when θ + m2 would pass π (cos θ ≤ cos(π − m2)) the target is
 * cos θ − sin(π − m2)·m2 instead (keeps the logit decreasing in θ); `easyMargin` applies the margin
 * only where cos θ > 0. Branches are arithmetic masks (tf.step) and the target is picked with a
 * one-hot product, so every gradient exists on tfjs-wasm (no Greater/gather gradients needed).
 */
import { tf } from '../engine/backend.js';
import { FaceMaeError } from '../core/errors.js';
import { oneHotMatrix } from './cross-entropy.js';

export interface MarginConfig {
  /** Scale of the logits (insightface: 64). */
  s: number;
  /** Multiplicative angular margin (SphereFace); 1 = off. */
  m1: number;
  /** Additive angular margin (ArcFace); 0 = off. */
  m2: number;
  /** Additive cosine margin (CosFace); 0 = off. */
  m3: number;
  /** Apply the angular margin only where cos θ > 0 (insightface default: false). */
  easyMargin?: boolean;
}

export const MARGIN_PRESETS = {
  arcface: { s: 64, m1: 1, m2: 0.5, m3: 0 },
  cosface: { s: 64, m1: 1, m2: 0, m3: 0.35 },
  softmax: { s: 64, m1: 1, m2: 0, m3: 0 },
} as const satisfies Record<string, MarginConfig>;
export type MarginPreset = keyof typeof MARGIN_PRESETS;

export function checkMargin(cfg: MarginConfig): void {
  for (const k of ['s', 'm1', 'm2', 'm3'] as const) {
    if (!Number.isFinite(cfg[k]))
      throw new FaceMaeError(`margin ${k} must be a finite number, got ${cfg[k]}`, 'E_CONFIG');
  }
  if (cfg.s <= 0) throw new FaceMaeError(`margin scale s must be > 0, got ${cfg.s}`, 'E_CONFIG');
  if (cfg.m1 < 1) throw new FaceMaeError(`margin m1 must be >= 1, got ${cfg.m1}`, 'E_CONFIG');
  if (cfg.m2 < 0 || cfg.m2 >= Math.PI / 2)
    throw new FaceMaeError(`margin m2 must be in [0, π/2), got ${cfg.m2}`, 'E_CONFIG');
}

/** Target-class logit before scaling, tCos [N,1] in [-1,1] -> [N,1]. */
function marginTarget(tCos: tf.Tensor, cfg: MarginConfig): tf.Tensor {
  const { m1, m2, m3 } = cfg;
  if (m1 === 1 && m2 === 0) return tf.sub(tCos, m3);
  let angular: tf.Tensor;
  if (m1 === 1) {
    // cos(θ + m2) = cos θ·cos m2 − sin θ·sin m2; the floor keeps sqrt's gradient finite at |cos| = 1.
    const sin = tf.sqrt(tf.maximum(tf.sub(1, tf.square(tCos)), 1e-12));
    angular = tf.sub(tf.mul(tCos, Math.cos(m2)), tf.mul(sin, Math.sin(m2)));
  } else {
    const theta = tf.acos(tf.clipByValue(tCos, -1 + 1e-6, 1 - 1e-6));
    angular = tf.cos(tf.add(tf.mul(theta, m1), m2));
  }
  angular = tf.sub(angular, m3);
  // Where the margin applies: θ·m1 + m2 ≤ π (or cos θ > 0 with easyMargin).
  const threshold = cfg.easyMargin ? 0 : Math.cos((Math.PI - m2) / m1);
  const fallback = cfg.easyMargin ? tf.sub(tCos, m3) : tf.sub(tCos, Math.sin(Math.PI - m2) * m2 + m3);
  const use = tf.step(tf.sub(tCos, threshold)); // 1 where cos > threshold (strict, as torch.where(cos > th))
  return tf.add(tf.mul(use, angular), tf.mul(tf.sub(1, use), fallback));
}

/**
 * cos [N,C] cosine logits (already clamped to [-1,1]), labels [N] (−1 = no target: left unchanged)
 * -> [N,C] scaled logits with the margin on each row's target class.
 */
export function combinedMargin(cos: tf.Tensor2D, labels: Int32Array, cfg: MarginConfig): tf.Tensor2D {
  const [n, c] = cos.shape;
  if (labels.length !== n) throw new FaceMaeError(`combinedMargin: ${labels.length} labels for ${n} rows`);
  for (const l of labels) {
    if (l >= c || l < -1 || !Number.isInteger(l))
      throw new FaceMaeError(`label ${l} is outside the ${c} classes`);
  }
  return tf.tidy(() => {
    const oneHot = oneHotMatrix(labels, c); // −1 -> all zeros
    const tCos = tf.sum(tf.mul(cos, oneHot), 1, true);
    const delta = tf.sub(marginTarget(tCos, cfg), tCos);
    return tf.mul(tf.add(cos, tf.mul(oneHot, delta)), cfg.s) as tf.Tensor2D;
  });
}

/** ArcFace preset: s = 64, m2 = 0.5 unless overridden. */
export const arcFace = (cos: tf.Tensor2D, labels: Int32Array, s = 64, m = 0.5) =>
  combinedMargin(cos, labels, { s, m1: 1, m2: m, m3: 0 });
/** CosFace preset: s = 64, m3 = 0.35 unless overridden. */
export const cosFace = (cos: tf.Tensor2D, labels: Int32Array, s = 64, m = 0.35) =>
  combinedMargin(cos, labels, { s, m1: 1, m2: 0, m3: m });
