/**
 * MobileFace (becauseofAI/MobileFace), the network of the bundled `mobileface` attacker, as a
 * trainable backbone, so the parrot attacker (src/attack) can fine-tune it end to end. The
 * layers follow the bundled graph (assets/models/mobileface/model.json) node for node, and the
 * parameters carry the graph's weight names, so its weights load by name:
 *   (x·255 − 127.5)/128 → pad 1, 3×3 conv s2 (3→32), PReLU → 4 stages, each
 *   1×1 conv (cin→c), then pad 1 + 3×3 depthwise s2 + PReLU (= a), two more pad 1 + 3×3 depthwise
 *   s1 + PReLU, plus a → flatten (4·4·128) → dense 2048→256 → per-channel scale and shift
 *   (the graph's folded batchnorm0).
 * No BatchNorm in the body (folded into the graph's weights), so there are no buffers; the
 * input side is fixed at 112 (the dense layer's 2048 inputs). Fresh weights are kaiming-normal.
 */
import { tf } from '../../engine/backend.js';
import { residualAdd } from '../../engine/kernels/index.js';
import type { Rng } from '../../core/rng.js';
import { FaceMaeError } from '../../core/errors.js';
import { createStore, disposeStore, type ParamStore } from './layers.js';
import type { BuiltBackbone } from './iresnet.js';

export const MOBILEFACE_INPUT = 112;
export const MOBILEFACE_DIM = 256;
/** Stage widths [cin, c] of the graph. */
const STAGES: [number, number][] = [
  [32, 32],
  [32, 32],
  [32, 64],
  [64, 128],
];
const PAD: [number, number][] = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];

function param(s: ParamStore, name: string, shape: number[], std: number, fill?: number): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from({ length: n }, () => (fill !== undefined ? fill : s.rng.normal() * std));
  const t = tf.tensor(values, shape);
  const v = tf.variable(t, true);
  t.dispose();
  s.params[name] = v;
  return v;
}

/** Builds MobileFace; `embeddingDim` and `inputSize` must be the graph's (256, 112). */
export function buildMobileFace(cfg: { embeddingDim: number; inputSize: number }, rng: Rng): BuiltBackbone {
  if (cfg.embeddingDim !== MOBILEFACE_DIM || cfg.inputSize !== MOBILEFACE_INPUT)
    throw new FaceMaeError(
      `the mobileface backbone is fixed at ${MOBILEFACE_INPUT} px and ${MOBILEFACE_DIM}-d embeddings (its pretrained weights), got ${cfg.inputSize} px and ${cfg.embeddingDim}-d`,
      'E_CONFIG',
    );
  const s = createStore(rng);
  const kaiming = (fanIn: number) => Math.sqrt(2 / fanIn);
  const conv1 = param(s, 'conv1_weight', [3, 3, 3, 32], kaiming(27));
  const prelu1 = param(s, 'prelu1_gamma', [32], 0, 0.25);
  const stages = STAGES.map(([cin, c], i) => {
    const p = `stage${i + 1}_unit1`;
    return {
      pw: param(s, `${p}_conv0_0_weight`, [1, 1, cin, c], kaiming(cin)),
      dw: [
        param(s, `${p}_conv0_1_df`, [3, 3, c, 1], kaiming(9)),
        param(s, `${p}_conv1_df`, [3, 3, c, 1], kaiming(9)),
        param(s, `${p}_conv2_df`, [3, 3, c, 1], kaiming(9)),
      ],
      act: [0, 1, 2].map((k) => param(s, `${p}_prelu${k}_gamma`, [c], 0, 0.25)),
    };
  });
  const dense = param(s, 'dense/kernel', [2048, MOBILEFACE_DIM], 1 / Math.sqrt(2048));
  const bnMul = param(s, 'batchnorm0/mul', [MOBILEFACE_DIM], 0, 1);
  const bnAdd = param(s, 'batchnorm0/sub', [MOBILEFACE_DIM], 0, 0);
  const dwAct = (x: tf.Tensor4D, w: tf.Variable, a: tf.Variable, stride: number) =>
    tf.prelu(
      tf.depthwiseConv2d(tf.pad(x, PAD), w as unknown as tf.Tensor4D, stride, 'valid'),
      a as unknown as tf.Tensor4D,
    );
  return {
    store: s,
    forward(x: tf.Tensor4D): tf.Tensor2D {
      // the graph's own input scaling, from our [0, 1] RGB
      let y = tf.mul(tf.sub(tf.mul(x, 255), 127.5), 0.0078125) as tf.Tensor4D;
      y = tf.conv2d(tf.pad(y, PAD), conv1 as unknown as tf.Tensor4D, 2, 'valid');
      y = tf.prelu(y, prelu1 as unknown as tf.Tensor4D);
      for (const st of stages) {
        y = tf.conv2d(y, st.pw as unknown as tf.Tensor4D, 1, 'valid');
        const a = dwAct(y, st.dw[0]!, st.act[0]!, 2);
        const b = dwAct(dwAct(a, st.dw[1]!, st.act[1]!, 1), st.dw[2]!, st.act[2]!, 1);
        y = residualAdd(b, a);
      }
      const flat = tf.reshape(y, [y.shape[0], -1]) as tf.Tensor2D;
      return tf.add(tf.mul(tf.matMul(flat, dense as unknown as tf.Tensor2D), bnMul), bnAdd) as tf.Tensor2D;
    },
    dispose: () => disposeStore(s),
  };
}
