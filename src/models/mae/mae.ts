/**
 * Masked autoencoder with a ViT encoder (He et al. 2022; facebookresearch/mae models_mae.py),
 * in NHWC tfjs. Stages as in the reference: patch embedding + fixed sin-cos positions → keep the
 * visible patches (one-hot matmul) → cls token → encoder blocks → decoder embedding → mask tokens
 * at removed positions (the unshuffle, again as a one-hot matmul) → decoder blocks → per-patch
 * pixel prediction. Images enter as [N,H,W,3] RGB in [0,1] and are normalised to (x−0.5)/0.5.
 */
import { tf } from '../../engine/backend.js';
import type { Rng } from '../../core/rng.js';
import { FaceMaeError } from '../../core/errors.js';
import { ParamStore, dense3, layerNorm } from '../vit/layers.js';
import { addBlockParams, block } from '../vit/block.js';
import { patchify, unpatchify } from '../vit/patch.js';
import { sincosPosEmbed2d } from '../vit/pos-embed.js';
import { keepOneHot, type Masking } from './masking.js';
import type { MaeConfig } from './config.js';

export interface MaeForward {
  /** [N,L,p*p*3] predicted patches (normalised pixels, or per-patch normalised if normPixLoss). */
  pred: tf.Tensor3D;
  /** [N,L,p*p*3] the target patches (normalised pixels; per-patch normalised if normPixLoss). */
  target: tf.Tensor3D;
  /** [N,L] 1 = removed. */
  mask: tf.Tensor2D;
}

export interface Mae {
  readonly config: MaeConfig;
  readonly numPatches: number;
  /** Trainable parameters by stable name (pos embeddings are fixed and not included). */
  readonly variables: Record<string, tf.Variable>;
  /** Every stored tensor by name (trainable + fixed), for export. */
  readonly allParams: Record<string, tf.Variable>;
  numParams(): number;
  /** imgs [N,H,W,3] in [0,1] -> latent [N, 1+lenKeep, dim] */
  forwardEncoder(imgs: tf.Tensor4D, m: Masking): tf.Tensor3D;
  /** latent [N,1+lenKeep,dim] -> pred [N,L,p*p*3] */
  forwardDecoder(latent: tf.Tensor3D, m: Masking): tf.Tensor3D;
  /** Full forward: pred, target and mask tensors (caller disposes, or call inside tidy). */
  forward(imgs: tf.Tensor4D, m: Masking): MaeForward;
  /**
   * Deployment reconstruction: the prediction at removed patches with the visible patches pasted
   * back, as images [N,H,W,3] in [0,1] (clipped). Differentiable (used by the IRM loss).
   * `pasteBack` (default 1) is the weight of the real pixels on the visible patches: 0 releases
   * the decoder's prediction everywhere, between 0 and 1 blends the two (the release knob).
   */
  reconstruct(imgs: tf.Tensor4D, m: Masking, pasteBack?: number): tf.Tensor4D;
  /** Same as reconstruct from an already computed forward. */
  pasteBack(imgs: tf.Tensor4D, f: MaeForward, pasteBack?: number): tf.Tensor4D;
  dispose(): void;
}

/** Refuses a paste-back weight outside [0, 1]. */
export function checkPasteBack(w: number, key = 'pasteBack'): void {
  if (typeof w !== 'number' || !(w >= 0 && w <= 1))
    throw new FaceMaeError(
      `${key} must be a number in [0, 1] (1: real pixels on the visible patches, 0: the decoder's prediction everywhere), got ${JSON.stringify(w)}`,
      'E_CONFIG',
      { key },
    );
}

/** Creates a MAE with weights initialised from `rng` (xavier-uniform linears, N(0,0.02) tokens). */
export function createMae(config: MaeConfig, rng: Rng): Mae {
  const c = config;
  const p = c.patchSize;
  const grid = c.imageSize / p;
  const L = grid * grid;
  const pd = p * p * 3;
  const ps = new ParamStore(rng);
  const fixed = new ParamStore(rng);
  fixed.add('pos_embed', [1, L + 1, c.dim], sincosPosEmbed2d(c.dim, grid, true), false);
  fixed.add('decoder_pos_embed', [1, L + 1, c.decoderDim], sincosPosEmbed2d(c.decoderDim, grid, true), false);
  ps.add('patch_embed.w', [pd, c.dim], 'xavier');
  ps.add('patch_embed.b', [c.dim], 'zeros');
  ps.add('cls_token', [1, 1, c.dim], { normal: 0.02 });
  for (let i = 0; i < c.depth; i++)
    addBlockParams(ps, `blocks.${i}`, { dim: c.dim, heads: c.heads, mlpRatio: c.mlpRatio });
  ps.add('norm.g', [c.dim], 'ones');
  ps.add('norm.b', [c.dim], 'zeros');
  ps.add('decoder_embed.w', [c.dim, c.decoderDim], 'xavier');
  ps.add('decoder_embed.b', [c.decoderDim], 'zeros');
  ps.add('mask_token', [1, 1, c.decoderDim], { normal: 0.02 });
  for (let i = 0; i < c.decoderDepth; i++) {
    addBlockParams(ps, `decoder_blocks.${i}`, {
      dim: c.decoderDim,
      heads: c.decoderHeads,
      mlpRatio: c.mlpRatio,
    });
  }
  ps.add('decoder_norm.g', [c.decoderDim], 'ones');
  ps.add('decoder_norm.b', [c.decoderDim], 'zeros');
  ps.add('decoder_pred.w', [c.decoderDim, pd], 'xavier');
  ps.add('decoder_pred.b', [pd], 'zeros');
  const all = { ...ps.vars, ...fixed.vars };
  const P = (k: string): tf.Tensor => {
    const v = all[k];
    if (!v) throw new Error(`MAE has no parameter ${k}`);
    return v;
  };

  const checkInput = (imgs: tf.Tensor4D, m: Masking) => {
    const [n, h, w, ch] = imgs.shape;
    if (h !== c.imageSize || w !== c.imageSize || ch !== 3) {
      throw new FaceMaeError(`MAE expects images ${c.imageSize}×${c.imageSize}×3, got ${h}×${w}×${ch}`);
    }
    if (m.n !== n || m.numPatches !== L)
      throw new FaceMaeError(`masking is for ${m.n}×${m.numPatches} patches, batch has ${n}×${L}`);
  };
  const normalise = (imgs: tf.Tensor4D) => tf.div(tf.sub(imgs, 0.5), 0.5) as tf.Tensor4D;

  const forwardEncoder = (imgs: tf.Tensor4D, m: Masking): tf.Tensor3D =>
    tf.tidy(() => {
      checkInput(imgs, m);
      const n = m.n;
      const patches = patchify(normalise(imgs), p);
      let x = dense3(patches, P('patch_embed.w') as tf.Tensor2D, P('patch_embed.b') as tf.Tensor1D);
      x = tf.add(x, tf.slice(P('pos_embed'), [0, 1, 0], [1, L, c.dim]));
      const sel = tf.tensor3d(keepOneHot(m), [n, m.lenKeep, L]);
      x = tf.matMul(sel, x) as tf.Tensor3D; // [N,lenKeep,D]
      const cls = tf.add(P('cls_token'), tf.slice(P('pos_embed'), [0, 0, 0], [1, 1, c.dim]));
      x = tf.concat([tf.tile(cls, [n, 1, 1]) as tf.Tensor3D, x], 1);
      for (let i = 0; i < c.depth; i++) x = block(x, P, `blocks.${i}`, c.heads);
      return layerNorm(x, P('norm.g') as tf.Tensor1D, P('norm.b') as tf.Tensor1D);
    });

  const forwardDecoder = (latent: tf.Tensor3D, m: Masking): tf.Tensor3D =>
    tf.tidy(() => {
      const n = m.n;
      const d = c.decoderDim;
      const x = dense3(latent, P('decoder_embed.w') as tf.Tensor2D, P('decoder_embed.b') as tf.Tensor1D);
      const cls = tf.slice(x, [0, 0, 0], [n, 1, d]);
      const vis = tf.slice(x, [0, 1, 0], [n, m.lenKeep, d]);
      // scatter visible tokens back to their positions; mask tokens elsewhere (= MAE's concat + unshuffle)
      const selT = new Float32Array(n * L * m.lenKeep);
      for (let s = 0; s < n; s++) {
        for (let r = 0; r < m.lenKeep; r++)
          selT[(s * L + (m.idsKeep[s * m.lenKeep + r] as number)) * m.lenKeep + r] = 1;
      }
      const placed = tf.matMul(tf.tensor3d(selT, [n, L, m.lenKeep]), vis) as tf.Tensor3D;
      const maskT = tf.tensor3d(m.mask, [n, L, 1]);
      const full = tf.add(placed, tf.mul(maskT, P('mask_token')));
      let y = tf.concat([cls, full], 1) as tf.Tensor3D;
      y = tf.add(y, P('decoder_pos_embed'));
      for (let i = 0; i < c.decoderDepth; i++) y = block(y, P, `decoder_blocks.${i}`, c.decoderHeads);
      y = layerNorm(y, P('decoder_norm.g') as tf.Tensor1D, P('decoder_norm.b') as tf.Tensor1D);
      const pred = dense3(y, P('decoder_pred.w') as tf.Tensor2D, P('decoder_pred.b') as tf.Tensor1D);
      return tf.slice(pred, [0, 1, 0], [n, L, pd]);
    });

  const targetOf = (imgs: tf.Tensor4D): tf.Tensor3D =>
    tf.tidy(() => {
      const t = patchify(normalise(imgs), p);
      if (!c.normPixLoss) return t;
      const mean = tf.mean(t, -1, true);
      const variance = tf.mean(tf.square(tf.sub(t, mean)), -1, true);
      return tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-6)));
    });

  const pasteBack = (imgs: tf.Tensor4D, f: MaeForward, weight = 1): tf.Tensor4D =>
    tf.tidy(() => {
      checkPasteBack(weight);
      const n = imgs.shape[0];
      const orig = patchify(normalise(imgs), p);
      let pred = f.pred;
      if (c.normPixLoss) {
        // de-normalise with the statistics of the original patch (only possible because we have it;
        // for deployment use normPixLoss=false, see docs/METHOD.md)
        const mean = tf.mean(orig, -1, true);
        const variance = tf.mean(tf.square(tf.sub(orig, mean)), -1, true);
        pred = tf.add(tf.mul(pred, tf.sqrt(tf.add(variance, 1e-6))), mean);
      }
      // weight of the real pixels per patch: 0 where removed, `weight` where visible
      const w3 = tf.mul(tf.sub(1, tf.reshape(f.mask, [n, L, 1])), weight);
      const mixed = tf.add(tf.mul(pred, tf.sub(1, w3)), tf.mul(orig, w3)) as tf.Tensor3D;
      return tf.clipByValue(tf.add(tf.mul(unpatchify(mixed, p), 0.5), 0.5), 0, 1) as tf.Tensor4D;
    });

  const forward = (imgs: tf.Tensor4D, m: Masking): MaeForward => {
    const pred = tf.tidy(() => forwardDecoder(forwardEncoder(imgs, m), m));
    return { pred, target: targetOf(imgs), mask: tf.tensor2d(m.mask, [m.n, L]) };
  };

  return {
    config: c,
    numPatches: L,
    variables: ps.vars,
    allParams: all,
    numParams: () => Object.values(ps.vars).reduce((a, v) => a + v.size, 0),
    forwardEncoder,
    forwardDecoder,
    forward,
    pasteBack,
    reconstruct: (imgs, m, weight = 1) =>
      tf.tidy(() => {
        const f = forward(imgs, m);
        return pasteBack(imgs, f, weight);
      }),
    dispose() {
      ps.dispose();
      fixed.dispose();
    },
  };
}
