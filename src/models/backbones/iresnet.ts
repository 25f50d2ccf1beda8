/**
 * IResNet, as insightface recognition/arcface_torch/backbones/iresnet.py: a 3×3 stem (stride 1)
 * → BN → PReLU, four stages of IBasicBlocks (BN-conv-BN-PReLU-conv-BN, the stage's first block
 * strided by 2 in its second conv, 1×1 conv + BN shortcut when the shape changes), then
 * BN → flatten → dropout (0, arcface_torch's default, so omitted) → FC → BN (the "features"
 * BatchNorm1d with γ fixed at 1). 112×112 RGB in [0,1], normalised inside as (x−0.5)/0.5 → D-dim embedding.
 */
import { tf } from '../../engine/backend.js';
import { residualAdd } from '../../engine/kernels/index.js';
import type { Rng } from '../../core/rng.js';
import {
  batchNorm,
  conv2d,
  createStore,
  disposeStore,
  linear,
  prelu,
  type Layer,
  type ParamStore,
} from './layers.js';

export interface IResNetConfig {
  /** Blocks per stage: r18 [2,2,2,2], r34 [3,4,6,3], r50 [3,4,14,3], r100 [3,13,30,3]. */
  layers: [number, number, number, number];
  /** Stage widths (insightface: [64,128,256,512]; smaller for CPU experiments). */
  widths: [number, number, number, number];
  embeddingDim: number;
  inputSize: number;
  /** Stem stride: 1 as insightface; 2 halves every feature map (CPU-sized variants). */
  stemStride?: number;
}

export interface BuiltBackbone {
  store: ParamStore;
  /** x [N,S,S,3] RGB in [0,1] -> [N,D] */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  dispose(): void;
}

function basicBlock(
  s: ParamStore,
  name: string,
  cin: number,
  planes: number,
  stride: number,
): Layer<tf.Tensor4D, tf.Tensor4D> {
  const bn1 = batchNorm(s, `${name}.bn1`, cin);
  const conv1 = conv2d(s, `${name}.conv1`, cin, planes, 3, 1);
  const bn2 = batchNorm(s, `${name}.bn2`, planes);
  const act = prelu(s, `${name}.prelu`, planes);
  const conv2 = conv2d(s, `${name}.conv2`, planes, planes, 3, stride);
  const bn3 = batchNorm(s, `${name}.bn3`, planes);
  let down: Layer<tf.Tensor4D, tf.Tensor4D> | null = null;
  if (stride !== 1 || cin !== planes) {
    const dconv = conv2d(s, `${name}.downsample.0`, cin, planes, 1, stride);
    const dbn = batchNorm(s, `${name}.downsample.1`, planes);
    down = (x, t) => dbn(dconv(x, t), t) as tf.Tensor4D;
  }
  return (x, t) => {
    let y = bn1(x, t) as tf.Tensor4D;
    y = conv1(y, t);
    y = act(bn2(y, t), t) as tf.Tensor4D;
    y = conv2(y, t);
    y = bn3(y, t) as tf.Tensor4D;
    return residualAdd(y, down ? down(x, t) : x); // keeps neither input for the backward
  };
}

export function buildIResNet(cfg: IResNetConfig, rng: Rng): BuiltBackbone {
  const s = createStore(rng);
  const [w0] = cfg.widths;
  const stem = cfg.stemStride ?? 1;
  const conv1 = conv2d(s, 'conv1', 3, w0, 3, stem);
  const bn1 = batchNorm(s, 'bn1', w0);
  const act = prelu(s, 'prelu', w0);
  const blocks: Layer<tf.Tensor4D, tf.Tensor4D>[] = [];
  let cin = w0;
  cfg.layers.forEach((n, stage) => {
    const planes = cfg.widths[stage] as number;
    for (let b = 0; b < n; b++) {
      blocks.push(basicBlock(s, `layer${stage + 1}.${b}`, cin, planes, b === 0 ? 2 : 1));
      cin = planes;
    }
  });
  const bn2 = batchNorm(s, 'bn2', cin);
  const side = Math.ceil(cfg.inputSize / 16 / stem);
  const fc = linear(s, 'fc', cin * side * side, cfg.embeddingDim);
  const features = batchNorm(s, 'features', cfg.embeddingDim, { scale: false });
  return {
    store: s,
    forward(x, training) {
      let y = tf.div(tf.sub(x, 0.5), 0.5) as tf.Tensor4D;
      y = act(bn1(conv1(y, training), training), training) as tf.Tensor4D;
      for (const b of blocks) y = b(y, training);
      y = bn2(y, training) as tf.Tensor4D;
      const flat = tf.reshape(y, [y.shape[0], -1]) as tf.Tensor2D;
      return features(fc(flat, training), training) as tf.Tensor2D;
    },
    dispose: () => disposeStore(s),
  };
}
