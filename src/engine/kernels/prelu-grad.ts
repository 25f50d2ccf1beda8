/**
 * The PReLU gradient as fused kernels for dx and dalpha (wasm backend). tfjs's generic gradient
 * runs Greater, two Selects, Multiplies, ZerosLike and a Sum over full-size activations: 7.5 % of
 * an IResNet step. Registered as kernels `FacemaePreluGradX` / `FacemaePreluGradAlpha` and used by
 * the Prelu gradient on wasm only (other backends keep tfjs's gradient, the test reference).
 * alpha broadcasts over the last axis (size C) or is a scalar; other shapes use tfjs's gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, alias, f32, heap, stock } from './context.js';
import { sum } from './reduce.js';
import { simdKernels } from '../simd/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

/**
 * dx = dy where x > 0, else alpha·dy, in four SIMD passes of stock kernels, exactly:
 * t = step(x, −1) ∈ {1, −1}; g = prelu(t, alpha)·t ∈ {1, alpha} (sign flips are exact); dx = dy·g.
 * A branch-free JS loop over the elements took ~3 ns each, the four passes together ~1.
 */
export function preluGradX(args: Args): tf.TensorInfo {
  const { x, alpha, dy } = args.inputs as { x: tf.TensorInfo; alpha: tf.TensorInfo; dy: tf.TensorInfo };
  const { backend } = args;
  const simd = simdKernels(backend);
  if (simd) {
    // one SIMD pass, no temporaries (src/engine/simd)
    const C = tf.util.sizeFromShape(alpha.shape);
    const n = tf.util.sizeFromShape(x.shape);
    const dx = backend.makeOutput(x.shape, 'float32');
    const at = (t: tf.TensorInfo) => addressOf(backend, t);
    simd.prelu_grad_x(at(x), at(alpha), at(dy), at(dx), C === 1 ? n : n / C, C);
    return dx;
  }
  const t = stock('Step', backend, { x }, { alpha: -1 });
  const p = stock('Prelu', backend, { x: t, alpha });
  const g = stock('Multiply', backend, { a: p, b: t });
  const dx = stock('Multiply', backend, { a: dy, b: g });
  for (const tmp of [t, p, g]) backend.disposeData(tmp.dataId);
  return dx;
}

/**
 * dalpha = Σ dy·min(x, 0) over every axis alpha broadcasts along (the elements with x ≤ 0; the
 * others contribute exact zeros): three SIMD passes of stock kernels and the GEMM column sum. A
 * branch-free JS loop accumulating in float64 took ~4 ns per element, these ~1.2.
 */
export function preluGradAlpha(args: Args): tf.TensorInfo {
  const { x, alpha, dy } = args.inputs as { x: tf.TensorInfo; alpha: tf.TensorInfo; dy: tf.TensorInfo };
  const { backend } = args;
  const simd = simdKernels(backend);
  if (simd) {
    // one SIMD pass accumulating per channel (float32 blocks into float64), no temporaries
    const C = tf.util.sizeFromShape(alpha.shape);
    const n = tf.util.sizeFromShape(x.shape);
    // a scalar alpha: sum four lanes per row of 4, then the lanes here (the tail row by row)
    const lanes = C === 1 && n % 4 === 0 ? 4 : C;
    const out = backend.makeOutput(alpha.shape, 'float32');
    const scratch = backend.makeOutput([3 * lanes], 'float32');
    const at = (t: tf.TensorInfo) => addressOf(backend, t);
    const s = at(scratch);
    simd.prelu_grad_alpha(at(x), at(dy), n / lanes, lanes, s, s + 8 * lanes);
    const sums = new Float64Array(heap(backend).buffer, s, lanes);
    const ov = f32(backend, out);
    if (lanes === C) for (let c = 0; c < C; c++) ov[c] = sums[c]!;
    else ov[0] = sums.reduce((a, b) => a + b, 0);
    backend.disposeData(scratch.dataId);
    return out;
  }
  // min(x, 0) as x − relu(x): the stock Minimum against a scalar 0 takes a scalar broadcast
  // path (~11 ns per element), Relu and the same-shape Sub are SIMD (~0.5 together)
  const pos = stock('Relu', backend, { x });
  const neg = stock('Sub', backend, { a: x, b: pos });
  const prod = stock('Multiply', backend, { a: dy, b: neg });
  const C = tf.util.sizeFromShape(alpha.shape);
  // per channel: sum over the leading axes (a GEMM column sum); a scalar alpha: over all
  const axis = C === 1 ? x.shape.map((_, i) => i) : x.shape.slice(0, -1).map((_, i) => i);
  const red = sum({ inputs: { x: prod }, backend, attrs: { axis, keepDims: false } });
  for (const tmp of [pos, neg, prod]) backend.disposeData(tmp.dataId);
  const out = alias(backend, red, alpha.shape);
  backend.disposeData(red.dataId);
  return out;
}

/** Whether alpha's shape is handled here: a scalar, or size C broadcast over x's last axis. */
function supported(x: tf.Tensor, alpha: tf.Tensor): boolean {
  if (x.dtype !== 'float32' || alpha.dtype !== 'float32') return false;
  if (alpha.size === 1) return true;
  const C = x.shape[x.rank - 1];
  return alpha.size === C && alpha.shape[alpha.rank - 1] === C && alpha.rank <= x.rank;
}

type GradFunc = (
  dy: tf.Tensor,
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
) => Record<string, () => tf.Tensor>;

/** Replaces the Prelu gradient: fused kernels on wasm, tfjs's own elsewhere. */
export function installPreluGradient(): void {
  const orig = tf.getGradient('Prelu');
  if (!orig) return;
  for (const [name, fn] of [
    ['FacemaePreluGradX', preluGradX],
    ['FacemaePreluGradAlpha', preluGradAlpha],
  ] as const) {
    if (!tf.getKernel(name, 'wasm')) {
      tf.registerKernel({
        kernelName: name,
        backendName: 'wasm',
        kernelFunc: fn as unknown as tf.KernelFunc,
      });
    }
  }
  const original = orig.gradFunc as unknown as GradFunc;
  tf.registerGradient({
    ...orig,
    gradFunc: ((dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, alpha] = saved as [tf.Tensor, tf.Tensor];
      if (tf.getBackend() !== 'wasm' || !supported(x, alpha)) return original(dy, saved, attrs);
      const inputs = { x, alpha, dy } as unknown as tf.NamedTensorMap;
      return {
        x: () => tf.engine().runKernel('FacemaePreluGradX', inputs) as tf.Tensor,
        alpha: () => tf.engine().runKernel('FacemaePreluGradAlpha', inputs) as tf.Tensor,
      };
    }) as unknown as tf.GradFunc,
  });
}
