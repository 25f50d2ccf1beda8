/**
 * Transpose: merges axes that stay adjacent and drops size-1 axes first, so the rank-5/6
 * transposes of patchify/unpatchify become rank ≤ 4 and run on the stock (fast) kernel; what
 * remains above rank 4 runs as a strided JS copy (stock tfjs-wasm is ~100× slower there).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { alias, f32, heap, i32, stock } from './context.js';

/** Canonical form: shape and perm with size-1 axes removed and adjacent kept-order axes merged. */
export function collapseTranspose(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const keep = perm.filter((a) => shape[a]! !== 1);
  // groups of input axes consecutive in both input and output order
  const groups: number[][] = [];
  for (const a of keep) {
    const last = groups[groups.length - 1];
    const prev = last?.[last.length - 1];
    // a follows prev directly in input order, skipping only size-1 axes
    let adjacent = prev !== undefined && a > prev;
    if (adjacent && prev !== undefined)
      for (let d = prev + 1; d < a; d++) if (shape[d] !== 1) adjacent = false;
    if (adjacent && last) last.push(a);
    else groups.push([a]);
  }
  const order = groups
    .map((g) => g[0]!)
    .slice()
    .sort((p, q) => p - q);
  const newShape = order.map((first) => {
    const g = groups.find((gg) => gg[0] === first)!;
    return g.reduce((s, a) => s * shape[a]!, 1);
  });
  const newPerm = groups.map((g) => order.indexOf(g[0]!));
  return { shape: newShape, perm: newPerm };
}

export function transpose(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { backend } = args;
  const perm = args.attrs.perm as number[];
  const outShape = perm.map((a) => x.shape[a]!);
  const cp = collapseTranspose(x.shape, perm);
  const identity = cp.perm.every((p, i) => p === i);
  if (identity) {
    // Pure reshape: copy (a kernel output must own its data).
    const out = backend.makeOutput(outShape, x.dtype);
    const size = tf.util.sizeFromShape(x.shape);
    if (size > 0) {
      const mem = heap(backend);
      const src = backend.dataIdMap.get(x.dataId)!.memoryOffset!;
      const dst = backend.dataIdMap.get(out.dataId)!.memoryOffset!;
      mem.copyWithin(dst, src, src + size * tf.util.bytesPerElement(x.dtype));
    }
    return out;
  }
  if (cp.shape.length <= 4 || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
    if (cp.shape.length === x.shape.length) return stock('Transpose', backend, args.inputs, args.attrs);
    const xa = alias(backend, x, cp.shape);
    const out = stock('Transpose', backend, { x: xa }, { perm: cp.perm });
    backend.disposeData(xa.dataId);
    out.shape = outShape;
    return out;
  }
  const out = backend.makeOutput(outShape, x.dtype);
  const src = x.dtype === 'int32' ? i32(backend, x) : f32(backend, x);
  const dst = x.dtype === 'int32' ? i32(backend, out) : f32(backend, out);
  stridedCopy(src, dst, cp.shape, cp.perm);
  return out;
}

/** dst (in output order) = src transposed by perm; generic odometer over output indices. */
function stridedCopy(
  src: Float32Array | Int32Array,
  dst: Float32Array | Int32Array,
  shape: number[],
  perm: number[],
): void {
  const r = shape.length;
  const inStrides: number[] = Array(r).fill(1);
  for (let d = r - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1]! * shape[d + 1]!;
  const oShape = perm.map((a) => shape[a]!);
  const oStrideIn = perm.map((a) => inStrides[a]!);
  const last = r - 1;
  const nLast = oShape[last]!;
  const sLast = oStrideIn[last]!;
  const idx: number[] = Array(r).fill(0);
  const total = dst.length;
  let base = 0;
  for (let o = 0; o < total; o += nLast) {
    for (let j = 0, s = base; j < nLast; j++, s += sLast) dst[o + j] = src[s]!;
    for (let d = last - 1; d >= 0; d--) {
      idx[d]!++;
      base += oStrideIn[d]!;
      if (idx[d]! < oShape[d]!) break;
      base -= oStrideIn[d]! * oShape[d]!;
      idx[d] = 0;
    }
  }
}
