/**
 * Bench IResNet (plain tfjs ops; follows insightface arcface_torch backbones/iresnet.py) with an
 * ArcFace head (s=64, m=0.5 on the target angle, as CombinedMarginLoss(64, 1, 0.5, 0)).
 * 'r18': layers [2,2,2,2], widths 64-128-256-512, 112 px -> 512-d. bench/peers/conv.py mirrors it.
 */
import { tf } from '../../src/engine/index.js';
import type { Rng } from '../../src/core/rng.js';
import { Params } from './params.js';

export interface IResNetBenchConfig {
  arch: 'r18' | 'r10';
  layers: number[];
  widths: number[];
  img: number;
  embedding: number;
  classes: number;
}

export const IRESNET_BENCH: Record<'r18' | 'r10', IResNetBenchConfig> = {
  r18: {
    arch: 'r18',
    layers: [2, 2, 2, 2],
    widths: [64, 128, 256, 512],
    img: 112,
    embedding: 512,
    classes: 1000,
  },
  // a lighter variant for quick runs: one block per stage
  r10: {
    arch: 'r10',
    layers: [1, 1, 1, 1],
    widths: [64, 128, 256, 512],
    img: 112,
    embedding: 512,
    classes: 1000,
  },
};

function conv(p: Params, name: string, k: number, cin: number, cout: number): void {
  p.add(name, [k, k, cin, cout], { std: Math.sqrt(2 / (k * k * cin)) });
}
function bn(p: Params, name: string, c: number): void {
  p.add(`${name}.g`, [c], { fill: 1 });
  p.add(`${name}.b`, [c], { fill: 0 });
}

/** Training-mode BatchNorm over all axes but the last. x [..., C] */
function batchNorm(p: Params, name: string, x: tf.Tensor): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  return tf.batchNorm(x, mean, variance, p.get(`${name}.b`), p.get(`${name}.g`), 1e-5);
}

export interface FaceBench {
  params: Params;
  /** imgs [B,S,S,3], labels int32 [B] -> scalar ArcFace cross-entropy */
  loss(imgs: tf.Tensor4D, labels: tf.Tensor1D): tf.Scalar;
  dispose(): void;
}

export function createIResNetBench(cfg: IResNetBenchConfig, rng: Rng): FaceBench {
  const p = new Params(rng);
  const w0 = cfg.widths[0]!;
  conv(p, 'stem', 3, 3, w0);
  bn(p, 'stem.bn', w0);
  p.add('stem.prelu', [w0], { fill: 0.25 });
  let cin = w0;
  const blocks: { name: string; cin: number; cout: number; stride: number; down: boolean }[] = [];
  cfg.layers.forEach((n, s) => {
    const cout = cfg.widths[s]!;
    for (let i = 0; i < n; i++) {
      const name = `l${s}.${i}`;
      const stride = i === 0 ? 2 : 1;
      const down = i === 0 && (stride !== 1 || cin !== cout);
      bn(p, `${name}.bn1`, cin);
      conv(p, `${name}.conv1`, 3, cin, cout);
      bn(p, `${name}.bn2`, cout);
      p.add(`${name}.prelu`, [cout], { fill: 0.25 });
      conv(p, `${name}.conv2`, 3, cout, cout);
      bn(p, `${name}.bn3`, cout);
      if (down) {
        conv(p, `${name}.down`, 1, cin, cout);
        bn(p, `${name}.down.bn`, cout);
      }
      blocks.push({ name, cin, cout, stride, down });
      cin = cout;
    }
  });
  const side = cfg.img / 16;
  bn(p, 'bn2', cin);
  p.add('fc.w', [cin * side * side, cfg.embedding], { std: Math.sqrt(1 / (cin * side * side)) });
  p.add('fc.b', [cfg.embedding], { fill: 0 });
  bn(p, 'features', cfg.embedding);
  p.add('arc.w', [cfg.embedding, cfg.classes], { std: 0.01 });
  const s = 64;
  const m = 0.5;

  return {
    params: p,
    loss(imgs, labels) {
      const B = imgs.shape[0];
      let x: tf.Tensor = tf.conv2d(imgs, p.get('stem') as tf.Tensor4D, 1, 'same');
      x = tf.prelu(batchNorm(p, 'stem.bn', x), p.get('stem.prelu'));
      for (const b of blocks) {
        let y = batchNorm(p, `${b.name}.bn1`, x);
        y = tf.conv2d(y as tf.Tensor4D, p.get(`${b.name}.conv1`) as tf.Tensor4D, 1, 'same');
        y = tf.prelu(batchNorm(p, `${b.name}.bn2`, y), p.get(`${b.name}.prelu`));
        y = tf.conv2d(y as tf.Tensor4D, p.get(`${b.name}.conv2`) as tf.Tensor4D, b.stride, 'same');
        y = batchNorm(p, `${b.name}.bn3`, y);
        let sc = x;
        if (b.down) {
          sc = tf.conv2d(x as tf.Tensor4D, p.get(`${b.name}.down`) as tf.Tensor4D, b.stride, 'same');
          sc = batchNorm(p, `${b.name}.down.bn`, sc);
        }
        x = tf.add(y, sc);
      }
      x = batchNorm(p, 'bn2', x);
      const flat = tf.reshape(x, [B, -1]) as tf.Tensor2D;
      const emb = batchNorm(
        p,
        'features',
        tf.add(tf.matMul(flat, p.get('fc.w') as tf.Tensor2D), p.get('fc.b')),
      );
      // ArcFace: cos(θ + m) on the target class, scaled by s
      const en = tf.div(emb, tf.norm(emb, 'euclidean', 1, true));
      const W = p.get('arc.w');
      const wn = tf.div(W, tf.norm(W, 'euclidean', 0, true));
      const cos = tf.clipByValue(tf.matMul(en as tf.Tensor2D, wn as tf.Tensor2D), -1 + 1e-7, 1 - 1e-7);
      const onehot = tf.oneHot(labels, cfg.classes);
      const sin = tf.sqrt(tf.sub(1, tf.square(cos)));
      const phi = tf.sub(tf.mul(cos, Math.cos(m)), tf.mul(sin, Math.sin(m)));
      const logits = tf.mul(tf.add(cos, tf.mul(onehot, tf.sub(phi, cos))), s);
      const logp = tf.logSoftmax(logits);
      return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
    },
    dispose() {
      p.dispose();
    },
  };
}
