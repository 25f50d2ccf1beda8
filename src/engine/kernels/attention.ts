/**
 * Multi-head scaled dot-product attention as one kernel, `FacemaeAttention`, with a one-kernel
 * gradient, `FacemaeAttentionGrad`. Composed from tfjs ops (reshape, transpose to heads, scale,
 * matMul, softmax, matMul, transpose back) each head split copied q, k and v twice and the tape
 * kept every copy, the scaled q and the output before its transpose: ~10 token-sized tensors per
 * block, where this node keeps q, k and v as the dense layers wrote them. The heads are read in
 * place (a head is a [T, d] slice with row stride H·d, which GEMM takes as its leading dimension),
 * and the probabilities are recomputed in the backward instead of kept (one [T,T] product per
 * head, cheap next to the [T,T] tensor per head it would keep). Per batch item and head:
 *   S = s·Q·Kᵀ,  P = softmax(S),  O = P·V;
 *   dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = s·dS·K,  dK = s·dSᵀ·Q.
 * The softmax is the backend's own kernel over all heads at once (SIMD on wasm).
 *
 * Inputs q, k, v [B, T, H·d]; attrs heads H, scale s. Output o [B, T, H·d] (heads side by side,
 * ready for the output projection). Registered for the wasm and cpu backends. On wasm with the
 * native kernels, both ways are one native call split over the engine's threads by (item, head):
 * the tiny MAE makes ~20,000 per-head GEMMs a step (13×64 encoder heads), each a BLAS call from JS
 * whose fixed cost exceeded its arithmetic (src/engine/native/kernels.ts, fm_attention).
 */
import * as tf from '@tensorflow/tfjs-core';
import { addressOf, callKernel, floatView, gemmFor, newFloat, registerOwnKernel } from './context.js';
import { nativeKernels } from '../native/index.js';
import { singleThreadBlas } from '../blas.js';

export const ATTENTION = 'FacemaeAttention';
const ATTENTION_GRAD = 'FacemaeAttentionGrad';

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

interface Dims {
  B: number;
  T: number;
  D: number;
  H: number;
  d: number;
  scale: number;
}

function dims(name: string, attrs: tf.NamedAttrMap, ...ts: tf.TensorInfo[]): Dims {
  const [q] = ts as [tf.TensorInfo];
  if (q.shape.length !== 3) throw new Error(`${name}: expected [B, T, H·d] inputs, got [${q.shape}]`);
  for (const t of ts) {
    if (!tf.util.arraysEqual(t.shape, q.shape))
      throw new Error(`${name}: shapes differ: [${q.shape}] vs [${t.shape}]`);
    if (t.dtype !== 'float32') throw new Error(`${name}: float32 only`);
  }
  const [B, T, D] = q.shape as [number, number, number];
  const H = attrs.heads as number;
  if (!Number.isInteger(H) || H < 1 || D % H !== 0)
    throw new Error(`${name}: ${D} channels do not split into ${H} heads`);
  return { B, T, D, H, d: D / H, scale: attrs.scale as number };
}

/** P [B·H, T, T] = softmax(s·Q·Kᵀ) per batch item and head (a new tensor). */
function probabilities(
  backendName: string,
  backend: tf.KernelBackend,
  q: tf.TensorInfo,
  k: tf.TensorInfo,
  { B, T, D, H, d, scale }: Dims,
): tf.TensorInfo {
  const s = newFloat(backend, [B * H, T, T]);
  const [qv, kv, sv] = [q, k, s].map((t) => floatView(backend, t)) as Float32Array[];
  const gemm = gemmFor(backendName);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const off = b * T * D + h * d;
      const so = (b * H + h) * T * T;
      gemm(
        false,
        true,
        T,
        T,
        d,
        scale,
        qv!.subarray(off),
        D,
        kv!.subarray(off),
        D,
        0,
        sv!.subarray(so, so + T * T),
        T,
      );
    }
  }
  const p = callKernel(backendName, backend, 'Softmax', { logits: s }, { dim: 2 }); // kernels take the axis non-negative
  backend.disposeData(s.dataId);
  return p;
}

function forwardKernel(backendName: string) {
  return ({ inputs, backend, attrs }: Args): tf.TensorInfo => {
    const { q, k, v } = inputs as Record<'q' | 'k' | 'v', tf.TensorInfo>;
    const dm = dims(ATTENTION, attrs, q, k, v);
    const { B, T, D, H, d } = dm;
    const nat = nativeKernels(backend);
    if (nat) {
      const o = newFloat(backend, [B, T, D]);
      const at = (t: tf.TensorInfo) => addressOf(backend, t);
      singleThreadBlas(); // long rows call the BLAS from every thread
      nat.attention(at(q), at(k), at(v), at(o), B, T, D, H, dm.scale);
      return o;
    }
    const p = probabilities(backendName, backend, q, k, dm);
    const o = newFloat(backend, [B, T, D]);
    const [pv, vv, ov] = [p, v, o].map((t) => floatView(backend, t)) as Float32Array[];
    const gemm = gemmFor(backendName);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const off = b * T * D + h * d;
        const po = (b * H + h) * T * T;
        gemm(
          false,
          false,
          T,
          d,
          T,
          1,
          pv!.subarray(po, po + T * T),
          T,
          vv!.subarray(off),
          D,
          0,
          ov!.subarray(off),
          D,
        );
      }
    }
    backend.disposeData(p.dataId);
    return o;
  };
}

function gradKernel(backendName: string) {
  return ({ inputs, backend, attrs }: Args): tf.TensorInfo[] => {
    const { dy, q, k, v } = inputs as Record<'dy' | 'q' | 'k' | 'v', tf.TensorInfo>;
    const dm = dims(ATTENTION_GRAD, attrs, dy, q, k, v);
    const { B, T, D, H, d, scale } = dm;
    const nat = nativeKernels(backend);
    if (nat) {
      const [dq, dk, dv] = [0, 1, 2].map(() => newFloat(backend, [B, T, D])) as tf.TensorInfo[];
      const at = (t: tf.TensorInfo) => addressOf(backend, t);
      singleThreadBlas();
      nat.attention_grad(at(dy), at(q), at(k), at(v), at(dq!), at(dk!), at(dv!), B, T, D, H, scale);
      return [dq!, dk!, dv!];
    }
    const p = probabilities(backendName, backend, q, k, dm);
    const dq = newFloat(backend, [B, T, D]);
    const dk = newFloat(backend, [B, T, D]);
    const dv = newFloat(backend, [B, T, D]);
    const dp = newFloat(backend, [T, T]); // scratch: dP, then dS in place
    const [dyv, qv, kv, vv, pv, dqv, dkv, dvv, dpv] = [dy, q, k, v, p, dq, dk, dv, dp].map((t) =>
      floatView(backend, t),
    ) as Float32Array[];
    const gemm = gemmFor(backendName);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const off = b * T * D + h * d;
        const po = (b * H + h) * T * T;
        const P = pv!.subarray(po, po + T * T);
        const dO = dyv!.subarray(off);
        gemm(true, false, T, d, T, 1, P, T, dO, D, 0, dvv!.subarray(off), D);
        gemm(false, true, T, T, d, 1, dO, D, vv!.subarray(off), D, 0, dpv!, T);
        for (let r = 0; r < T * T; r += T) {
          let dot = 0;
          for (let j = r; j < r + T; j++) dot += dpv![j]! * P[j]!;
          for (let j = r; j < r + T; j++) dpv![j] = P[j]! * (dpv![j]! - dot);
        }
        gemm(false, false, T, d, T, scale, dpv!, T, kv!.subarray(off), D, 0, dqv!.subarray(off), D);
        gemm(true, false, T, d, T, scale, dpv!, T, qv!.subarray(off), D, 0, dkv!.subarray(off), D);
      }
    }
    backend.disposeData(p.dataId);
    backend.disposeData(dp.dataId);
    return [dq, dk, dv];
  };
}

const gradFunc = (
  dy: tf.Tensor,
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
): Record<string, () => tf.Tensor> => {
  const [q, k, v] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  // eager, once: the three closures share the one kernel's outputs
  const [dq, dk, dv] = tf
    .engine()
    .runKernel(
      ATTENTION_GRAD,
      { dy, q, k, v } as unknown as tf.NamedTensorMap,
      attrs,
    ) as unknown as tf.Tensor3D[];
  return { q: () => dq!, k: () => dk!, v: () => dv! };
};

let installed = false;

/** Registers both kernels (wasm, cpu) and the gradient; call before the gradient memory saver wraps gradients. */
export function installAttention(): void {
  if (installed) return;
  installed = true;
  registerOwnKernel(ATTENTION, forwardKernel);
  registerOwnKernel(ATTENTION_GRAD, gradKernel);
  tf.registerGradient({
    kernelName: ATTENTION,
    inputsToSave: ['q', 'k', 'v'],
    gradFunc: gradFunc as unknown as tf.GradFunc,
  });
}

/** Attention of q, k, v [B, T, H·d] over `heads` heads, scores scaled by 1/√d: -> [B, T, H·d]. */
export function attentionFused(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number): tf.Tensor3D {
  const d = q.shape[2] / heads;
  return tf.engine().runKernel(
    ATTENTION,
    { q, k, v } as unknown as tf.NamedTensorMap,
    {
      heads,
      scale: 1 / Math.sqrt(d),
    } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor3D;
}
