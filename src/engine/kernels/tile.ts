/**
 * Tile as block copies (stock tfjs-wasm's generic Tile was 37% of an IResNet step: the
 * BatchNorm gradient tiles [1,1,1,C] to [N,H,W,C]). Each level copies its sub-block once, then
 * replicates the block with copyWithin.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heap, stock } from './context.js';

type View = Float32Array | Int32Array | Uint8Array;

function viewOf(backend: BackendWasm, t: tf.TensorInfo): View {
  const off = backend.dataIdMap.get(t.dataId)!.memoryOffset!;
  const size = tf.util.sizeFromShape(t.shape);
  const buf = heap(backend).buffer;
  if (t.dtype === 'float32') return new Float32Array(buf, off, size);
  if (t.dtype === 'int32') return new Int32Array(buf, off, size);
  return new Uint8Array(buf, off, size);
}

export function tile(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { backend } = args;
  const reps = args.attrs.reps as number[];
  if (x.dtype === 'string' || x.dtype === 'complex64' || reps.length !== x.shape.length) {
    return stock('Tile', backend, args.inputs, args.attrs);
  }
  const r = x.shape.length;
  const outShape = x.shape.map((s, i) => s * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const src = viewOf(backend, x);
  const dst = viewOf(backend, out);
  const inStride: number[] = Array(r).fill(1);
  const outStride: number[] = Array(r).fill(1);
  for (let d = r - 2; d >= 0; d--) {
    inStride[d] = inStride[d + 1]! * x.shape[d + 1]!;
    outStride[d] = outStride[d + 1]! * outShape[d + 1]!;
  }
  const rec = (d: number, s: number, o: number): void => {
    const n = x.shape[d]!;
    if (d === r - 1) dst.set(src.subarray(s, s + n), o);
    else for (let i = 0; i < n; i++) rec(d + 1, s + i * inStride[d]!, o + i * outStride[d]!);
    const block = n * outStride[d]!;
    // replicate with doubling copies: log2(reps) calls
    let filled = 1;
    const rep = reps[d]!;
    while (filled < rep) {
      const k = Math.min(filled, rep - filled);
      dst.copyWithin(o + filled * block, o, o + k * block);
      filled += k;
    }
  };
  if (r === 0) dst[0] = src[0]!;
  else rec(0, 0, 0);
  return out;
}
