/**
 * Pre-norm transformer block (timm `Block` as used by facebookresearch/mae):
 * x = x + Attn(LN(x)); x = x + MLP(LN(x)). Attention splits heads with rank-4 transposes only
 * ([B,T,H,d] -> [B,H,T,d]) and runs as batched matmuls over [B*H,T,d]; where the engine registers
 * them, the dense layers and the attention are one kernel each way instead.
 */
import { tf } from '../../engine/backend.js';
import { ATTENTION, attentionFused } from '../../engine/kernels/index.js';
import { ParamStore, dense3, gelu, layerNorm } from './layers.js';

export interface BlockSpec {
  dim: number;
  heads: number;
  mlpRatio: number;
}

/** Creates the parameters of one block under `prefix` (e.g. "blocks.0"). */
export function addBlockParams(ps: ParamStore, prefix: string, s: BlockSpec): void {
  const hidden = Math.round(s.dim * s.mlpRatio);
  ps.add(`${prefix}.norm1.g`, [s.dim], 'ones');
  ps.add(`${prefix}.norm1.b`, [s.dim], 'zeros');
  // q, k, v as three dense layers (one fused qkv would need last-axis slices, slow on wasm)
  for (const t of ['q', 'k', 'v']) {
    ps.add(`${prefix}.attn.${t}.w`, [s.dim, s.dim], 'xavier');
    ps.add(`${prefix}.attn.${t}.b`, [s.dim], 'zeros');
  }
  ps.add(`${prefix}.attn.proj.w`, [s.dim, s.dim], 'xavier');
  ps.add(`${prefix}.attn.proj.b`, [s.dim], 'zeros');
  ps.add(`${prefix}.norm2.g`, [s.dim], 'ones');
  ps.add(`${prefix}.norm2.b`, [s.dim], 'zeros');
  ps.add(`${prefix}.mlp.fc1.w`, [s.dim, hidden], 'xavier');
  ps.add(`${prefix}.mlp.fc1.b`, [hidden], 'zeros');
  ps.add(`${prefix}.mlp.fc2.w`, [hidden, s.dim], 'xavier');
  ps.add(`${prefix}.mlp.fc2.b`, [s.dim], 'zeros');
}

type P = (k: string) => tf.Tensor;

/** x [B,T,D] -> [B,T,D], plus `residual` [B,T,D] when given (added by the output projection). */
export function attention(
  x: tf.Tensor3D,
  p: P,
  prefix: string,
  heads: number,
  residual?: tf.Tensor3D,
): tf.Tensor3D {
  const [b, t, dim] = x.shape;
  const d = dim / heads;
  const dense = (name: string) =>
    dense3(x, p(`${prefix}.${name}.w`) as tf.Tensor2D, p(`${prefix}.${name}.b`) as tf.Tensor1D);
  const proj = (o: tf.Tensor3D) =>
    dense3(o, p(`${prefix}.proj.w`) as tf.Tensor2D, p(`${prefix}.proj.b`) as tf.Tensor1D, residual);
  // one engine kernel each way where registered: reads the heads in place, keeps only q, k, v
  if (tf.getKernel(ATTENTION, tf.getBackend()))
    return proj(attentionFused(dense('q'), dense('k'), dense('v'), heads));
  const split = (name: string) =>
    tf.reshape(tf.transpose(tf.reshape(dense(name), [b, t, heads, d]), [0, 2, 1, 3]), [b * heads, t, d]);
  const q = tf.mul(split('q'), 1 / Math.sqrt(d));
  const k = split('k');
  const v = split('v');
  const attn = tf.softmax(tf.matMul(q, k, false, true) as tf.Tensor3D); // [B*H,T,T]
  const o = tf.matMul(attn, v) as tf.Tensor3D; // [B*H,T,d]
  const merged = tf.reshape(tf.transpose(tf.reshape(o, [b, heads, t, d]), [0, 2, 1, 3]), [
    b,
    t,
    dim,
  ]) as tf.Tensor3D;
  return proj(merged);
}

/** x [B,T,D] -> [B,T,D] */
export function block(x: tf.Tensor3D, p: P, prefix: string, heads: number): tf.Tensor3D {
  const h1 = layerNorm(x, p(`${prefix}.norm1.g`) as tf.Tensor1D, p(`${prefix}.norm1.b`) as tf.Tensor1D);
  const x1 = attention(h1, p, `${prefix}.attn`, heads, x); // x + Attn(LN(x))
  const h2 = layerNorm(x1, p(`${prefix}.norm2.g`) as tf.Tensor1D, p(`${prefix}.norm2.b`) as tf.Tensor1D);
  return dense3(
    gelu(dense3(h2, p(`${prefix}.mlp.fc1.w`) as tf.Tensor2D, p(`${prefix}.mlp.fc1.b`) as tf.Tensor1D)),
    p(`${prefix}.mlp.fc2.w`) as tf.Tensor2D,
    p(`${prefix}.mlp.fc2.b`) as tf.Tensor1D,
    x1, // x1 + MLP(LN(x1))
  );
}
