/**
 * MobileFaceNet, as insightface recognition/arcface_torch/backbones/mobilefacenet.py:
 * ConvBlock = conv → BN → PReLU, LinearBlock = conv → BN, DepthWise = 1×1 expand → depthwise k×k
 * → 1×1 linear projection (+ identity inside Residual stacks), GDC head = 7×7 depthwise LinearBlock
 * → flatten → FC (no bias) → BN. `scale` multiplies the widths (arcface_torch: 2; 1 is the paper's).
 */
import { tf } from '../../engine/backend.js';
import { residualAdd } from '../../engine/kernels/index.js';
import type { Rng } from '../../core/rng.js';
import {
  batchNorm,
  conv2d,
  createStore,
  depthwiseConv2d,
  disposeStore,
  linear,
  prelu,
  type Layer,
  type ParamStore,
} from './layers.js';
import type { BuiltBackbone } from './iresnet.js';

export interface MobileFaceNetConfig {
  /** Residual blocks per stage (arcface_torch: [1, 4, 6, 2]). */
  blocks: [number, number, number, number];
  scale: number;
  embeddingDim: number;
  inputSize: number;
}

type L4 = Layer<tf.Tensor4D, tf.Tensor4D>;
const kaiming = (k: number, cin: number) => Math.sqrt(2 / (k * k * cin));

function convBlock(
  s: ParamStore,
  name: string,
  cin: number,
  cout: number,
  k: number,
  stride: number,
  depthwise = false,
  act = true,
): L4 {
  const conv = depthwise
    ? depthwiseConv2d(s, `${name}.conv`, cin, k, stride)
    : conv2d(s, `${name}.conv`, cin, cout, k, stride, kaiming(k, cin));
  const bn = batchNorm(s, `${name}.bn`, cout);
  const pr = act ? prelu(s, `${name}.prelu`, cout) : null;
  return (x, t) => {
    const y = bn(conv(x, t), t) as tf.Tensor4D;
    return pr ? (pr(y, t) as tf.Tensor4D) : y;
  };
}

function depthWise(
  s: ParamStore,
  name: string,
  cin: number,
  cout: number,
  groups: number,
  stride: number,
  residual: boolean,
): L4 {
  const expand = convBlock(s, `${name}.conv`, cin, groups, 1, 1);
  const dw = convBlock(s, `${name}.conv_dw`, groups, groups, 3, stride, true);
  const project = convBlock(s, `${name}.project`, groups, cout, 1, 1, false, false);
  return (x, t) => {
    const y = project(dw(expand(x, t), t), t);
    return residual ? residualAdd(x, y) : y; // keeps neither input for the backward
  };
}

export function buildMobileFaceNet(cfg: MobileFaceNetConfig, rng: Rng): BuiltBackbone {
  const s = createStore(rng);
  const c64 = Math.round(64 * cfg.scale);
  const c128 = Math.round(128 * cfg.scale);
  const layers: L4[] = [convBlock(s, 'layers.0', 3, c64, 3, 2)];
  if (cfg.blocks[0] === 1) layers.push(convBlock(s, 'layers.1', c64, c64, 3, 1, true));
  else
    for (let i = 0; i < cfg.blocks[0]; i++)
      layers.push(depthWise(s, `layers.1.${i}`, c64, c64, 128, 1, true));
  layers.push(depthWise(s, 'layers.2', c64, c64, 128, 2, false));
  for (let i = 0; i < cfg.blocks[1]; i++) layers.push(depthWise(s, `layers.3.${i}`, c64, c64, 128, 1, true));
  layers.push(depthWise(s, 'layers.4', c64, c128, 256, 2, false));
  for (let i = 0; i < cfg.blocks[2]; i++)
    layers.push(depthWise(s, `layers.5.${i}`, c128, c128, 256, 1, true));
  layers.push(depthWise(s, 'layers.6', c128, c128, 512, 2, false));
  for (let i = 0; i < cfg.blocks[3]; i++)
    layers.push(depthWise(s, `layers.7.${i}`, c128, c128, 256, 1, true));
  const convSep = convBlock(s, 'conv_sep', c128, 512, 1, 1);
  const side = Math.ceil(cfg.inputSize / 16);
  // GDC: a depthwise conv covering the whole side×side map ('valid') -> 1×1.
  const gdc = depthwiseConv2d(s, 'features.conv', 512, side, 1, 'valid');
  const gdcBn = batchNorm(s, 'features.bn', 512);
  const fc = linear(s, 'features.fc', 512, cfg.embeddingDim, false);
  const feat = batchNorm(s, 'features.features', cfg.embeddingDim);
  return {
    store: s,
    forward(x, training) {
      let y = tf.div(tf.sub(x, 0.5), 0.5) as tf.Tensor4D;
      for (const l of layers) y = l(y, training);
      y = convSep(y, training);
      const g = gdcBn(gdc(y, training), training);
      const flat = tf.reshape(g, [g.shape[0] as number, -1]) as tf.Tensor2D;
      return feat(fc(flat, training), training) as tf.Tensor2D;
    },
    dispose: () => disposeStore(s),
  };
}
