/**
 * Optimizer updates as single passes over the parameters' own memory. Composed from tfjs ops, an
 * AdamW update is ~12 element-wise kernels per parameter, each allocating and sweeping a
 * parameter-sized tensor, plus two more per parameter for the global gradient norm: ~3,800
 * kernel calls and 93 ms of CPU per step of the tiny MAE (268 parameters, 6.4 M floats). Here the
 * norm is one read of every gradient and the update one loop that writes m and v in place and the
 * new p into a fresh buffer. p itself is never written in place: stock tfjs-wasm kernels backed by
 * XNNPACK (the RGB stem's Conv2D, PReLU) cache their packed weights by tensor id, so a parameter
 * changed under the same id would keep being used with its old values.
 * tfjs has no fused optimizer kernel and no in-place op, so this reaches under it: on the wasm
 * backend one SIMD pass over its heap (src/engine/simd), on the cpu backend a JS loop over the
 * backing arrays (the only backends the engine runs).
 */
import * as tf from '@tensorflow/tfjs-core';
import { addressOf, floatView, newFloat } from './kernels/context.js';
import { simdKernels } from './simd/index.js';

/** A view of `t`'s memory (valid until the next allocation: take views right before the loop). */
const view = (t: tf.Tensor): Float32Array => floatView(tf.backend(), t);

/**
 * Makes `v` safe to write in place: when it shares its memory with another tensor (an alias made
 * by Identity, Reshape or `assign` of a tensor the caller keeps), it gets a private copy first.
 * May allocate, so call it for every written tensor before taking any view.
 */
function own(v: tf.Variable): void {
  if (tf.backend().refCount(v.dataId) > 1) {
    const copy = tf.tensor(view(v).slice(), v.shape, 'float32');
    v.assign(copy);
    copy.dispose();
  }
}

/** A new, uninitialised float32 tensor of p's shape (written by the caller, then assigned to p). */
function fresh(p: tf.Variable): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(newFloat(tf.backend(), [...p.shape]));
}

/** Σ x² over every element of every tensor, accumulated in float64. */
export function sumOfSquares(tensors: readonly tf.Tensor[]): number {
  let s = 0;
  const backend = tf.backend();
  const simd = simdKernels(backend);
  for (const t of tensors) {
    if (simd) {
      s += simd.sum_squares(addressOf(backend, t), t.size);
      continue;
    }
    const x = view(t);
    for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  }
  return s;
}

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (0 for the no-decay group). */
  weightDecay: number;
  /** Factor applied to the gradient first (global-norm clipping; 1 = none). */
  gradScale: number;
  /** 1-based update count, for the bias corrections. */
  t: number;
}

/**
 * torch.optim.AdamW (m, v in place; p reassigned), all of g's shape:
 *   g' = s·g;  m = β1·m + (1−β1)·g';  v = β2·v + (1−β2)·g'²;
 *   p = p·(1 − lr·wd) − (lr/bc1)·m / (√v/√bc2 + eps),  bc_i = 1 − β_iᵗ.
 */
export function adamwUpdate(
  p: tf.Variable,
  g: tf.Tensor,
  m: tf.Variable,
  v: tf.Variable,
  c: AdamWStep,
): void {
  if (g.size !== p.size) throw new Error(`gradient of ${g.size} floats for a parameter of ${p.size}`);
  own(m);
  own(v);
  const next = fresh(p);
  const { beta1: b1, beta2: b2, eps, gradScale: s } = c;
  const a1 = 1 - b1;
  const a2 = 1 - b2;
  const decay = 1 - c.lr * c.weightDecay;
  const stepSize = c.lr / (1 - Math.pow(b1, c.t));
  const invSqrtBc2 = 1 / Math.sqrt(1 - Math.pow(b2, c.t));
  const backend = tf.backend();
  const simd = simdKernels(backend);
  if (simd) {
    const at = (t: tf.Tensor) => addressOf(backend, t);
    simd.adamw(at(p), at(g), at(m), at(v), at(next), p.size, s, b1, b2, decay, stepSize, invSqrtBc2, eps);
    p.assign(next);
    next.dispose();
    return;
  }
  const pv = view(p);
  const nv = view(next);
  const mv = view(m);
  const vv = view(v);
  const gv = view(g);
  for (let i = 0; i < pv.length; i++) {
    const gi = gv[i]! * s;
    const mi = b1 * mv[i]! + a1 * gi;
    const vi = b2 * vv[i]! + a2 * gi * gi;
    mv[i] = mi;
    vv[i] = vi;
    nv[i] = pv[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
  }
  p.assign(next);
  next.dispose();
}

export interface SgdStep {
  lr: number;
  momentum: number;
  /** Coupled L2 decay, added to the gradient (0 for the no-decay group). */
  weightDecay: number;
  gradScale: number;
}

/**
 * torch.optim.SGD with momentum (buffer in place, p reassigned; the buffer starts at zero, so its first value is g'):
 *   g' = s·g + wd·p;  buf = μ·buf + g';  p = p − lr·buf   (μ = 0: p = p − lr·g', buf untouched).
 */
export function sgdUpdate(p: tf.Variable, g: tf.Tensor, buf: tf.Variable, c: SgdStep): void {
  if (g.size !== p.size) throw new Error(`gradient of ${g.size} floats for a parameter of ${p.size}`);
  if (c.momentum > 0) own(buf);
  const next = fresh(p);
  const { lr, momentum: mu, weightDecay: wd, gradScale: s } = c;
  const backend = tf.backend();
  const simd = simdKernels(backend);
  if (simd) {
    const at = (t: tf.Tensor) => addressOf(backend, t);
    simd.sgd(at(p), at(g), mu > 0 ? at(buf) : 0, at(next), p.size, s, wd, mu, lr);
    p.assign(next);
    next.dispose();
    return;
  }
  const pv = view(p);
  const nv = view(next);
  const bv = c.momentum > 0 ? view(buf) : null;
  const gv = view(g);
  for (let i = 0; i < pv.length; i++) {
    const gi = gv[i]! * s + wd * pv[i]!;
    let d = gi;
    if (bv) {
      d = mu * bv[i]! + gi;
      bv[i] = d;
    }
    nv[i] = pv[i]! - lr * d;
  }
  p.assign(next);
  next.dispose();
}
