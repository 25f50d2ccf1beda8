/**
 * BatchMatMul and _FusedMatMul on the wasm backend, computed by GEMM calls on views of wasm memory.
 * Stock tfjs-wasm runs every batched or transposed matMul (hence every matMul backward) as a scalar
 * loop; here each is one or a few sgemm calls. Batch dims broadcast as in tf.matMul.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ctx, f32, stock } from './context.js';

interface MatMulPlan {
  outShape: number[];
  m: number;
  n: number;
  k: number;
  batchA: number;
  batchB: number;
  /** per output batch: [aIndex, bIndex] */
  pairs: (i: number) => [number, number];
  batch: number;
}

function plan(a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean): MatMulPlan {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const k = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const m = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const n = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} ` +
        `and transposeA=${transA} and transposeB=${transB} must match.`,
    );
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = tf.util.sizeFromShape(outer);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  let pairs: (i: number) => [number, number];
  if (batchA === batch && batchB === batch) pairs = (i) => [i, i];
  else if (batchB === 1) pairs = (i) => [i, 0];
  else if (batchA === 1) pairs = (i) => [0, i];
  else {
    // General broadcasting: unravel the output index, clamp broadcast (size-1) dims per operand.
    const r = outer.length;
    const padA = Array(r - outerA.length)
      .fill(1)
      .concat(outerA) as number[];
    const padB = Array(r - outerB.length)
      .fill(1)
      .concat(outerB) as number[];
    pairs = (i) => {
      let ia = 0;
      let ib = 0;
      let sa = 1;
      let sb = 1;
      let rem = i;
      for (let d = r - 1; d >= 0; d--) {
        const size = outer[d]!;
        const idx = rem % size;
        rem = Math.floor(rem / size);
        if (padA[d]! !== 1) ia += idx * sa;
        if (padB[d]! !== 1) ib += idx * sb;
        sa *= padA[d]!;
        sb *= padB[d]!;
      }
      return [ia, ib];
    };
  }
  return { outShape: [...outer, m, n], m, n, k, batchA, batchB, pairs, batch };
}

/** out [batch, m, n] = op(a)·op(b), all views already made. */
function gemmBatched(
  p: MatMulPlan,
  av: Float32Array,
  bv: Float32Array,
  ov: Float32Array,
  transA: boolean,
  transB: boolean,
): void {
  const { m, n, k } = p;
  const lda = transA ? m : k;
  const ldb = transB ? k : n;
  if (p.batch === 0 || m === 0 || n === 0) return;
  if (k === 0) {
    ov.fill(0);
    return;
  }
  // b shared by every batch and a not transposed: fold the batch into M (one large GEMM).
  if (p.batchB === 1 && !transA && p.batchA === p.batch) {
    ctx.gemm(false, transB, p.batch * m, n, k, 1, av, lda, bv, ldb, 0, ov, n);
    return;
  }
  const sa = m * k;
  const sb = k * n;
  const so = m * n;
  for (let i = 0; i < p.batch; i++) {
    const [ia, ib] = p.pairs(i);
    ctx.gemm(
      transA,
      transB,
      m,
      n,
      k,
      1,
      av.subarray(ia * sa, ia * sa + sa),
      lda,
      bv.subarray(ib * sb, ib * sb + sb),
      ldb,
      0,
      ov.subarray(i * so, i * so + so),
      n,
    );
  }
}

function checkFloat(a: tf.TensorInfo, b: tf.TensorInfo, name: string): void {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`${name} for non-float32 tensors is not supported (got ${a.dtype}, ${b.dtype}).`);
  }
}

/** Without native BLAS, a plain 2-D product is fastest on the stock kernel (XNNPACK). */
function useStock(p: MatMulPlan, transA: boolean, transB: boolean): boolean {
  return !ctx.native && p.batch === 1 && !transA && !transB;
}

export function batchMatMul(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const transA = Boolean(args.attrs.transposeA);
  const transB = Boolean(args.attrs.transposeB);
  const { backend } = args;
  checkFloat(a, b, 'BatchMatMul');
  const p = plan(a, b, transA, transB);
  if (useStock(p, transA, transB)) return stock('BatchMatMul', backend, args.inputs, args.attrs);
  const out = backend.makeOutput(p.outShape, 'float32');
  gemmBatched(p, f32(backend, a), f32(backend, b), f32(backend, out), transA, transB);
  return out;
}

/** In-place activation on a view (the activations tf.fused.matMul accepts). */
function activate(
  v: Float32Array,
  activation: string,
  alpha: number,
  prelu: Float32Array | undefined,
  n: number,
): void {
  const len = v.length;
  switch (activation) {
    case 'linear':
      return;
    case 'relu':
      for (let i = 0; i < len; i++) if (v[i]! < 0) v[i] = 0;
      return;
    case 'relu6':
      for (let i = 0; i < len; i++) v[i] = Math.min(Math.max(v[i]!, 0), 6);
      return;
    case 'elu':
      for (let i = 0; i < len; i++) if (v[i]! < 0) v[i] = Math.expm1(v[i]!);
      return;
    case 'leakyrelu':
      for (let i = 0; i < len; i++) if (v[i]! < 0) v[i] = alpha * v[i]!;
      return;
    case 'sigmoid':
      for (let i = 0; i < len; i++) v[i] = 1 / (1 + Math.exp(-v[i]!));
      return;
    case 'prelu': {
      if (!prelu) throw new Error('prelu activation needs preluActivationWeights');
      const w = prelu.length;
      if (w === 1) {
        const s = prelu[0]!;
        for (let i = 0; i < len; i++) if (v[i]! < 0) v[i] = s * v[i]!;
      } else if (w === n) {
        for (let i = 0; i < len; i++) if (v[i]! < 0) v[i] = prelu[i % n]! * v[i]!;
      } else if (w === len) {
        for (let i = 0; i < len; i++) if (v[i]! < 0) v[i] = prelu[i]! * v[i]!;
      } else {
        throw new Error(`prelu weights of size ${w} do not broadcast to the output's last dim ${n}`);
      }
      return;
    }
    default:
      throw new Error(`activation "${activation}" is not supported by _FusedMatMul`);
  }
}

/** Adds a bias broadcast to out [..., m, n] in place: bias of size n, 1, or the full output size. */
function addBias(v: Float32Array, bias: Float32Array, biasShape: number[], outShape: number[]): void {
  const n = outShape[outShape.length - 1]!;
  const len = v.length;
  const size = bias.length;
  if (size === 1) {
    const s = bias[0]!;
    for (let i = 0; i < len; i++) v[i]! += s;
    return;
  }
  if (size === n && (biasShape.length <= 1 || biasShape[biasShape.length - 1] === n)) {
    for (let r = 0; r < len; r += n) for (let j = 0; j < n; j++) v[r + j]! += bias[j]!;
    return;
  }
  // General broadcast: right-align bias dims against the output dims.
  const r = outShape.length;
  const bs = Array(r - biasShape.length)
    .fill(1)
    .concat(biasShape) as number[];
  const strides: number[] = Array(r).fill(0);
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    if (bs[d] !== 1 && bs[d] !== outShape[d]) {
      throw new Error(`bias of shape [${biasShape}] does not broadcast to [${outShape}]`);
    }
    strides[d] = bs[d] === 1 ? 0 : acc;
    acc *= bs[d]!;
  }
  for (let i = 0; i < len; i++) {
    let rem = i;
    let bi = 0;
    for (let d = r - 1; d >= 0; d--) {
      const size2 = outShape[d]!;
      bi += (rem % size2) * strides[d]!;
      rem = Math.floor(rem / size2);
    }
    v[i]! += bias[bi]!;
  }
}

export function fusedMatMul(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const transA = Boolean(args.attrs.transposeA);
  const transB = Boolean(args.attrs.transposeB);
  const activation = (args.attrs.activation as string | undefined) ?? 'linear';
  const alpha = (args.attrs.leakyreluAlpha as number | undefined) ?? 0.2;
  const { backend } = args;
  checkFloat(a, b, '_FusedMatMul');
  const p = plan(a, b, transA, transB);
  const stockOk =
    useStock(p, transA, transB) &&
    a.shape.length === 3 &&
    (!bias || bias.shape.length === 1) &&
    activation !== 'gelu';
  if (stockOk) return stock('_FusedMatMul', backend, args.inputs, args.attrs);
  const out = backend.makeOutput(p.outShape, 'float32');
  const ov = f32(backend, out);
  gemmBatched(p, f32(backend, a), f32(backend, b), ov, transA, transB);
  if (bias) addBias(ov, f32(backend, bias), bias.shape, p.outShape);
  const pw = preluActivationWeights ? f32(backend, preluActivationWeights) : undefined;
  activate(ov, activation, alpha, pw, p.n);
  return out;
}
