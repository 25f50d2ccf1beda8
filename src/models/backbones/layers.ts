/**
 * Minimal layer kit for the face backbones: parameters live in one named store (stable names
 * map to checkpoints), BatchNorm keeps running statistics (PyTorch semantics: momentum 0.1,
 * unbiased running variance), every op is plain tfjs in NHWC.
 */
import { tf } from '../../engine/backend.js';
import { LINEAR, batchNormTrain, linearFused } from '../../engine/kernels/index.js';
import type { Rng } from '../../core/rng.js';

export interface ParamStore {
  /** Trainable parameters by stable name. */
  params: Record<string, tf.Variable>;
  /** Non-trainable state (BatchNorm running mean/var) by stable name. */
  buffers: Record<string, tf.Variable>;
  rng: Rng;
}

export function createStore(rng: Rng): ParamStore {
  return { params: {}, buffers: {}, rng };
}

let uid = 0;
function addParam(
  s: ParamStore,
  name: string,
  values: Float32Array,
  shape: number[],
  trainable = true,
): tf.Variable {
  if (s.params[name] || s.buffers[name]) throw new Error(`duplicate parameter name ${name}`);
  const init = tf.tensor(values, shape);
  const v = tf.variable(init, trainable, `${name}#${uid++}`);
  init.dispose(); // the variable holds its own reference to the data
  (trainable ? s.params : s.buffers)[name] = v;
  return v;
}

const normal = (rng: Rng, n: number, std: number) =>
  Float32Array.from({ length: n }, () => rng.normal() * std);
const uniform = (rng: Rng, n: number, bound: number) =>
  Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * bound);

export type Layer<I extends tf.Tensor = tf.Tensor, O extends tf.Tensor = tf.Tensor> = (
  x: I,
  training: boolean,
) => O;

/** k×k conv without bias, 'same' padding; weights N(0, 0.1) as insightface iresnet.py initialises them. */
export function conv2d(
  s: ParamStore,
  name: string,
  cin: number,
  cout: number,
  k: number,
  stride: number,
  std = 0.1,
): Layer<tf.Tensor4D, tf.Tensor4D> {
  const w = addParam(s, `${name}.weight`, normal(s.rng, k * k * cin * cout, std), [k, k, cin, cout]);
  return (x) => tf.conv2d(x, w as unknown as tf.Tensor4D, stride, 'same');
}

/** Depthwise k×k conv (MobileFaceNet), kaiming-normal init. */
export function depthwiseConv2d(
  s: ParamStore,
  name: string,
  c: number,
  k: number,
  stride: number,
  pad: 'same' | 'valid' = 'same',
): Layer<tf.Tensor4D, tf.Tensor4D> {
  const w = addParam(s, `${name}.weight`, normal(s.rng, k * k * c, Math.sqrt(2 / (k * k))), [k, k, c, 1]);
  return (x) => tf.depthwiseConv2d(x, w as unknown as tf.Tensor4D, stride, pad);
}

/**
 * BatchNorm over the last axis of [N,H,W,C] or [N,C]. Training: batch statistics, and the running
 * ones are updated (not part of the gradient). Eval: running statistics. `affine: false` fixes γ=1 β=0.
 */
export function batchNorm(
  s: ParamStore,
  name: string,
  c: number,
  opts: { eps?: number; momentum?: number; scale?: boolean } = {},
): Layer {
  const eps = opts.eps ?? 1e-5;
  const mom = opts.momentum ?? 0.1;
  const gamma = opts.scale === false ? null : addParam(s, `${name}.weight`, new Float32Array(c).fill(1), [c]);
  const beta = addParam(s, `${name}.bias`, new Float32Array(c), [c]);
  const runMean = addParam(s, `${name}.running_mean`, new Float32Array(c), [c], false);
  const runVar = addParam(s, `${name}.running_var`, new Float32Array(c).fill(1), [c], false);
  return (x, training) => {
    if (training) {
      // one kernel with its own gradient (src/engine/kernels/batchnorm-train.ts): the tfjs
      // composition's backward walked ~20 mostly full-size nodes per BatchNorm
      const { y, mean, variance } = batchNormTrain(
        x,
        (gamma ?? tf.ones([c])) as tf.Tensor1D,
        beta as tf.Tensor1D,
        eps,
      );
      const count = x.size / c;
      tf.tidy(() => {
        runMean.assign(tf.add(tf.mul(runMean, 1 - mom), tf.mul(mean, mom)));
        runVar.assign(
          tf.add(tf.mul(runVar, 1 - mom), tf.mul(variance, (mom * count) / Math.max(1, count - 1))),
        );
      });
      mean.dispose();
      variance.dispose();
      return y;
    }
    const inv = tf.rsqrt(tf.add(runVar, eps));
    const scale = gamma ? tf.mul(inv, gamma) : inv;
    return tf.add(tf.mul(tf.sub(x, runMean), scale), beta);
  };
}

/** PReLU with one slope per channel (last axis), initialised 0.25 as torch.nn.PReLU. */
export function prelu(s: ParamStore, name: string, c: number): Layer {
  const a = addParam(s, `${name}.weight`, new Float32Array(c).fill(0.25), [c]);
  return (x) => tf.prelu(x, a);
}

/** x [N,K] -> [N,M]; torch.nn.Linear's default init U(±1/√K). W is stored [K,M] so forward and backward are plain matmuls. */
export function linear(
  s: ParamStore,
  name: string,
  k: number,
  m: number,
  bias = true,
): Layer<tf.Tensor2D, tf.Tensor2D> {
  const bound = 1 / Math.sqrt(k);
  const w = addParam(s, `${name}.weight`, uniform(s.rng, k * m, bound), [k, m]);
  const b = bias ? addParam(s, `${name}.bias`, uniform(s.rng, m, bound), [m]) : null;
  return (x) => {
    // one engine kernel each way where registered (keeps x and W only for the backward)
    if (tf.getKernel(LINEAR, tf.getBackend()))
      return linearFused(x, w as unknown as tf.Tensor2D, (b ?? undefined) as tf.Tensor1D | undefined);
    const y = tf.matMul(x, w as unknown as tf.Tensor2D) as tf.Tensor2D;
    return b ? (tf.add(y, b) as tf.Tensor2D) : y;
  };
}

export function disposeStore(s: ParamStore): void {
  for (const v of Object.values(s.params)) v.dispose();
  for (const v of Object.values(s.buffers)) v.dispose();
}
