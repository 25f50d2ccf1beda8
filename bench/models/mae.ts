/**
 * Bench ViT-MAE (plain tfjs ops; follows facebookresearch/mae models_mae.py): patchify → linear
 * patch embedding + fixed 2-D sin-cos positions → per-sample random masking (keep 25%) → cls +
 * encoder blocks → decoder embed + mask tokens + unshuffle → decoder blocks → pixel head → MSE on
 * removed patches. bench/peers/mae.py is the same network in PyTorch.
 */
import { tf } from '../../src/engine/index.js';
import type { Rng } from '../../src/core/rng.js';
import { Params } from './params.js';

export interface MaeBenchConfig {
  img: number;
  patch: number;
  dim: number;
  depth: number;
  heads: number;
  decDim: number;
  decDepth: number;
  decHeads: number;
  maskRatio: number;
}

export const MAE_BENCH: MaeBenchConfig = {
  img: 112,
  patch: 16,
  dim: 192,
  depth: 12,
  heads: 3,
  decDim: 128,
  decDepth: 4,
  decHeads: 4,
  maskRatio: 0.75,
};

/** 2-D sin-cos position table [L, D] (no cls row), as MAE's get_2d_sincos_pos_embed. */
export function sincos2d(grid: number, dim: number): Float32Array {
  const out = new Float32Array(grid * grid * dim);
  const quarter = dim / 4;
  for (let i = 0; i < grid; i++) {
    for (let j = 0; j < grid; j++) {
      const row = (i * grid + j) * dim;
      for (let k = 0; k < quarter; k++) {
        const omega = 1 / 10000 ** (k / quarter);
        // first half encodes w (j), second half h (i), as MAE (emb_h uses grid[0] = w)
        out[row + k] = Math.sin(j * omega);
        out[row + quarter + k] = Math.cos(j * omega);
        out[row + 2 * quarter + k] = Math.sin(i * omega);
        out[row + 3 * quarter + k] = Math.cos(i * omega);
      }
    }
  }
  return out;
}

function addBlock(p: Params, pre: string, d: number): void {
  const h = 4 * d;
  p.add(`${pre}.ln1.g`, [d], { fill: 1 });
  p.add(`${pre}.ln1.b`, [d], { fill: 0 });
  p.add(`${pre}.qkv.w`, [d, 3 * d], { std: 0.02 });
  p.add(`${pre}.qkv.b`, [3 * d], { fill: 0 });
  p.add(`${pre}.proj.w`, [d, d], { std: 0.02 });
  p.add(`${pre}.proj.b`, [d], { fill: 0 });
  p.add(`${pre}.ln2.g`, [d], { fill: 1 });
  p.add(`${pre}.ln2.b`, [d], { fill: 0 });
  p.add(`${pre}.fc1.w`, [d, h], { std: 0.02 });
  p.add(`${pre}.fc1.b`, [h], { fill: 0 });
  p.add(`${pre}.fc2.w`, [h, d], { std: 0.02 });
  p.add(`${pre}.fc2.b`, [d], { fill: 0 });
}

/** x [R, D] -> [R, D] */
function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6))), g), b);
}

/** x [R, Din] · w [Din, Dout] + b */
function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
}

/** exact GELU (erf), as torch.nn.GELU() */
function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** Pre-norm transformer block on x [B*N, D] (N tokens per sample). */
function block(p: Params, pre: string, x: tf.Tensor, B: number, N: number, D: number, H: number): tf.Tensor {
  const dh = D / H;
  const h = layerNorm(x, p.get(`${pre}.ln1.g`), p.get(`${pre}.ln1.b`));
  const qkv = dense(h, p.get(`${pre}.qkv.w`), p.get(`${pre}.qkv.b`));
  const [q, k, v] = tf.split(qkv, 3, 1).map((t) => tf.transpose(tf.reshape(t, [B, N, H, dh]), [0, 2, 1, 3]));
  const att = tf.softmax(tf.mul(tf.matMul(q!, k!, false, true), 1 / Math.sqrt(dh)));
  const o = tf.reshape(tf.transpose(tf.matMul(att, v!), [0, 2, 1, 3]), [B * N, D]);
  const x1 = tf.add(x, dense(o, p.get(`${pre}.proj.w`), p.get(`${pre}.proj.b`)));
  const h2 = layerNorm(x1, p.get(`${pre}.ln2.g`), p.get(`${pre}.ln2.b`));
  const m = dense(
    gelu(dense(h2, p.get(`${pre}.fc1.w`), p.get(`${pre}.fc1.b`))),
    p.get(`${pre}.fc2.w`),
    p.get(`${pre}.fc2.b`),
  );
  return tf.add(x1, m);
}

export interface MaeBench {
  params: Params;
  /** imgs [B,S,S,3] -> scalar loss; the mask indices come from `noise` (B×L, lower = kept). */
  loss(imgs: tf.Tensor4D, noise: Float32Array): tf.Scalar;
  dispose(): void;
}

export function createMaeBench(cfg: MaeBenchConfig, rng: Rng): MaeBench {
  const p = new Params(rng);
  const g = cfg.img / cfg.patch;
  const L = g * g;
  const pd = cfg.patch * cfg.patch * 3;
  p.add('patch.w', [pd, cfg.dim], { std: 0.02 });
  p.add('patch.b', [cfg.dim], { fill: 0 });
  p.add('cls', [1, 1, cfg.dim], { std: 0.02 });
  for (let i = 0; i < cfg.depth; i++) addBlock(p, `enc${i}`, cfg.dim);
  p.add('norm.g', [cfg.dim], { fill: 1 });
  p.add('norm.b', [cfg.dim], { fill: 0 });
  p.add('dec.w', [cfg.dim, cfg.decDim], { std: 0.02 });
  p.add('dec.b', [cfg.decDim], { fill: 0 });
  p.add('mask_token', [1, 1, cfg.decDim], { std: 0.02 });
  for (let i = 0; i < cfg.decDepth; i++) addBlock(p, `dec${i}`, cfg.decDim);
  p.add('dnorm.g', [cfg.decDim], { fill: 1 });
  p.add('dnorm.b', [cfg.decDim], { fill: 0 });
  p.add('pred.w', [cfg.decDim, pd], { std: 0.02 });
  p.add('pred.b', [pd], { fill: 0 });
  const pos = tf.tensor(sincos2d(g, cfg.dim), [1, L, cfg.dim]);
  const dpos = tf.tensor(sincos2d(g, cfg.decDim), [1, L, cfg.decDim]);
  const keep = Math.floor(L * (1 - cfg.maskRatio));

  return {
    params: p,
    loss(imgs, noise) {
      const B = imgs.shape[0];
      // argsort of the noise per sample: ids_shuffle (kept first), ids_restore its inverse
      const shuffle = new Int32Array(B * L);
      const restore = new Int32Array(B * L);
      const maskData = new Float32Array(B * L);
      for (let b = 0; b < B; b++) {
        const ids = Array.from({ length: L }, (_, i) => i).sort(
          (x, y) => noise[b * L + x]! - noise[b * L + y]!,
        );
        ids.forEach((id, r) => {
          shuffle[b * L + r] = b * L + id;
          restore[b * L + id] = b * L + r;
          maskData[b * L + id] = r < keep ? 0 : 1;
        });
      }
      const keepIdx = new Int32Array(B * keep);
      for (let b = 0; b < B; b++) for (let r = 0; r < keep; r++) keepIdx[b * keep + r] = shuffle[b * L + r]!;
      const keepT = tf.tensor1d(keepIdx, 'int32');
      // restore indices into the concatenation [visible (B*keep) ; mask tokens (B*(L-keep))]
      const rest = new Int32Array(B * L);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < L; i++) {
          const r = restore[b * L + i]! - b * L;
          rest[b * L + i] = r < keep ? b * keep + r : B * keep + b * (L - keep) + (r - keep);
        }
      }
      const restT = tf.tensor1d(rest, 'int32');
      const mask = tf.tensor2d(maskData, [B, L]);
      const P = cfg.patch;
      const D = cfg.dim;
      const E = cfg.decDim;
      /** imgs [B,S,S,3] -> [B,L,P*P*3] */
      const target = tf.reshape(tf.transpose(tf.reshape(imgs, [B, g, P, g, P, 3]), [0, 1, 3, 2, 4, 5]), [
        B,
        L,
        pd,
      ]);
      let x = tf.reshape(dense(tf.reshape(target, [B * L, pd]), p.get('patch.w'), p.get('patch.b')), [
        B,
        L,
        D,
      ]);
      x = tf.add(x, pos);
      const vis = tf.reshape(tf.gather(tf.reshape(x, [B * L, D]), keepT), [B, keep, D]);
      const cls = tf.mul(tf.ones([B, 1, 1]), p.get('cls'));
      let h = tf.reshape(tf.concat([cls, vis], 1), [B * (keep + 1), D]);
      for (let i = 0; i < cfg.depth; i++) h = block(p, `enc${i}`, h, B, keep + 1, D, cfg.heads);
      h = layerNorm(h, p.get('norm.g'), p.get('norm.b'));
      const y = tf.reshape(dense(h, p.get('dec.w'), p.get('dec.b')), [B, keep + 1, E]);
      const ycls = tf.slice(y, [0, 0, 0], [B, 1, E]);
      const yvis = tf.reshape(tf.slice(y, [0, 1, 0], [B, keep, E]), [B * keep, E]);
      const tokens = tf.reshape(
        tf.mul(tf.ones([B * (L - keep), 1]), tf.reshape(p.get('mask_token'), [1, E])),
        [B * (L - keep), E],
      );
      const full = tf.reshape(tf.gather(tf.concat([yvis, tokens], 0), restT), [B, L, E]);
      let d = tf.reshape(tf.concat([ycls, tf.add(full, dpos)], 1), [B * (L + 1), E]);
      for (let i = 0; i < cfg.decDepth; i++) d = block(p, `dec${i}`, d, B, L + 1, E, cfg.decHeads);
      d = layerNorm(d, p.get('dnorm.g'), p.get('dnorm.b'));
      const pred = tf.slice(
        tf.reshape(dense(d, p.get('pred.w'), p.get('pred.b')), [B, L + 1, pd]),
        [0, 1, 0],
        [B, L, pd],
      );
      const perPatch = tf.mean(tf.squaredDifference(pred, target), -1);
      const loss = tf.div(tf.sum(tf.mul(perPatch, mask)), tf.sum(mask)) as tf.Scalar;
      return loss;
    },
    dispose() {
      p.dispose();
      pos.dispose();
      dpos.dispose();
    },
  };
}
