/**
 * FusedBatchNorm forward (wasm backend) as y = x·k + b with per-channel k = scale·rsqrt(var + eps)
 * and b = offset − mean·k computed on [C] in JS, then the stock SIMD broadcast Multiply and Add:
 * ~4× faster than the stock FusedBatchNorm kernel at IResNet shapes. Statistics other than [C]
 * over the last axis go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { f32, stock } from './context.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

function perChannel(t: tf.TensorInfo | undefined, C: number): boolean {
  return (
    !t ||
    (t.dtype === 'float32' &&
      (tf.util.sizeFromShape(t.shape) === 1 || (t.shape.length === 1 && t.shape[0] === C)))
  );
}

function run(name: string, backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`stock wasm kernel ${name} missing`);
  return k.kernelFunc({ inputs: { a, b }, backend, attrs: {} }) as tf.TensorInfo;
}

export function fusedBatchNorm(args: Args): tf.TensorInfo {
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { backend, attrs } = args;
  const C = x!.shape[x!.shape.length - 1]!;
  if (
    x!.dtype !== 'float32' ||
    x!.shape.length < 1 ||
    mean!.shape.length !== 1 ||
    mean!.shape[0] !== C ||
    variance!.shape.length !== 1 ||
    variance!.shape[0] !== C ||
    !perChannel(offset, C) ||
    !perChannel(scale, C)
  ) {
    return stock('FusedBatchNorm', backend, args.inputs, attrs);
  }
  const eps = (attrs.varianceEpsilon as number | undefined) ?? 0.001;
  const kT = backend.makeOutput([C], 'float32');
  const bT = backend.makeOutput([C], 'float32');
  const mv = f32(backend, mean!);
  const vv = f32(backend, variance!);
  const sv = scale ? f32(backend, scale) : null;
  const ov = offset ? f32(backend, offset) : null;
  const kv = f32(backend, kT);
  const bv = f32(backend, bT);
  for (let c = 0; c < C; c++) {
    const k = (sv ? sv[sv.length === 1 ? 0 : c]! : 1) / Math.sqrt(vv[c]! + eps);
    kv[c] = k;
    bv[c] = (ov ? ov[ov.length === 1 ? 0 : c]! : 0) - mv[c]! * k;
  }
  const prod = run('Multiply', backend, x!, kT);
  const out = run('Add', backend, prod, bT);
  backend.disposeData(prod.dataId);
  backend.disposeData(kT.dataId);
  backend.disposeData(bT.dataId);
  return out;
}
