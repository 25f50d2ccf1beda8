/**
 * Building blocks for the ViT: a parameter store with stable names and seeded initialisation,
 * dense layers as 2-D matmuls ([B*T,Din]·[Din,Dout], so the backward is plain 2-D matmuls) and
 * LayerNorm (eps 1e-6 as in MAE). Weights are stored [in, out].
 */
import { tf } from '../../engine/backend.js';
import {
  GELU,
  LAYER_NORM,
  LINEAR,
  geluFused,
  layerNormFused,
  linearFused,
} from '../../engine/kernels/index.js';
import type { Rng } from '../../core/rng.js';

export type Init = 'xavier' | 'zeros' | 'ones' | { normal: number } | Float32Array;

/** Named variables of one model. Keys are stable (used in checkpoints and ONNX export). */
export class ParamStore {
  readonly vars: Record<string, tf.Variable> = {};
  constructor(private readonly rng: Rng) {}

  add(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (init instanceof Float32Array) values = init;
    else if (init === 'zeros') values = new Float32Array(size);
    else if (init === 'ones') values = new Float32Array(size).fill(1);
    else if (init === 'xavier') {
      // xavier_uniform over the 2-D view [fanIn, fanOut] (MAE also uses it for the patch embed)
      const fanOut = shape[shape.length - 1] as number;
      const fanIn = size / fanOut;
      const lim = Math.sqrt(6 / (fanIn + fanOut));
      values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = (this.rng.next() * 2 - 1) * lim;
    } else {
      values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = this.rng.normal() * init.normal;
    }
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), trainable));
    this.vars[name] = v;
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars[name];
    if (!v) throw new Error(`no parameter "${name}"`);
    return v;
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
  }
}

/**
 * x [B,T,Din] · w [Din,Dout] + b [Dout] (+ residual [B,T,Dout]) -> [B,T,Dout]. One engine kernel
 * each way where registered (it keeps only x and w for the backward); else matMul + add.
 */
export function dense3(x: tf.Tensor3D, w: tf.Tensor2D, b?: tf.Tensor1D, residual?: tf.Tensor3D): tf.Tensor3D {
  if (tf.getKernel(LINEAR, tf.getBackend())) return linearFused(x, w, b, residual);
  const [bs, t, din] = x.shape;
  let y: tf.Tensor2D = tf.matMul(tf.reshape(x, [bs * t, din]) as tf.Tensor2D, w);
  if (b) y = tf.add(y, b);
  const y3 = tf.reshape(y, [bs, t, w.shape[1]]) as tf.Tensor3D;
  return residual ? tf.add(residual, y3) : y3;
}

/** LayerNorm over the last axis: x [B,T,D] -> [B,T,D] (one engine kernel each way where registered). */
export function layerNorm(x: tf.Tensor3D, g: tf.Tensor1D, b: tf.Tensor1D, eps = 1e-6): tf.Tensor3D {
  if (tf.getKernel(LAYER_NORM, tf.getBackend())) return layerNormFused(x, g, b, eps);
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.div(xc, tf.sqrt(tf.add(variance, eps))), g), b);
}

/**
 * GELU, tanh approximation, written as x·σ(2u) with u = √(2/π)(x + 0.044715x³) (identical to
 * 0.5x(1+tanh u)); sigmoid is ~7× faster than tanh on tfjs-wasm and exists in ONNX.
 * |Δ| vs erf-GELU < 1e-3.
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (tf.getKernel(GELU, tf.getBackend())) return geluFused(x); // one kernel each way, keeps only x
  const c = 2 * Math.sqrt(2 / Math.PI);
  const x3 = tf.mul(tf.mul(x, x), x);
  return tf.mul(x, tf.sigmoid(tf.mul(tf.add(x, tf.mul(x3, 0.044715)), c))) as T;
}
