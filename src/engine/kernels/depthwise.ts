/**
 * Gradients of DepthwiseConv2dNative (not registered on stock tfjs-wasm). Filter [KH,KW,C,M];
 * output channel c·M+q reads input channel c. The input gradient of the common case (M = 1, no
 * dilation: MobileFaceNet, the IRM teacher) is a forward depthwise convolution run by the stock
 * XNNPACK kernel; the rest are direct loops over NHWC data. With the native kernels both run
 * there, split over the engine's threads (the filter gradient by channels, the input gradient by
 * images): in the parrot attacker's step the JS filter gradient alone was 41% of the kernel time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, f32, stock, withConvGeometry } from './context.js';
import { nativeKernels, type NativeKernels } from '../native/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

function infoOf(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    ((attrs.dilations as number | [number, number] | undefined) ?? 1) as [number, number],
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    true,
  );
}

/**
 * Visits every (input pixel, output pixel, tap) triple: fn(xOffset, dyOffset, filterOffset),
 * offsets of channel 0 (input), channel 0 of the output pixel, and tap (kh,kw) channel 0.
 */
function forEachTap(c: tf.backend_util.Conv2DInfo, fn: (xo: number, dyo: number, fo: number) => void): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = c;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = c;
  const { dilationHeight: dh, dilationWidth: dw, outChannels: CO } = c;
  const pt = c.padInfo.top;
  const pl = c.padInfo.left;
  const M = CO / C;
  for (let n = 0; n < c.batchSize; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyo = ((n * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh - pt + kh * dh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sw - pl + kw * dw;
            if (iw < 0 || iw >= W) continue;
            fn(((n * H + ih) * W + iw) * C, dyo, (kh * KW + kw) * C * M);
          }
        }
      }
    }
  }
}

/** Runs a native depthwise gradient with the geometry {N,H,W,C,OH,OW,KH,KW,sh,sw,dh,dw,pt,pl,M} in wasm memory. */
function runNative<T>(backend: BackendWasm, c: tf.backend_util.Conv2DInfo, call: (g: number) => T): T {
  return withConvGeometry(backend, c, c.outChannels / c.inChannels, call);
}

/**
 * The forward, y [N,OH,OW,C·M] from x [N,H,W,C] and filter [KH,KW,C,M], on the native kernels
 * (split by output rows); without them, or for NCHW, the stock XNNPACK kernel (one thread).
 */
export function depthwiseForward(args: Args): tf.TensorInfo {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const { backend, attrs } = args;
  const nat = attrs.dataFormat === 'NCHW' ? null : nativeKernels(backend);
  if (!nat) return stock('DepthwiseConv2dNative', backend, args.inputs, attrs);
  const c = infoOf(x.shape, filter.shape, attrs);
  const out = backend.makeOutput([c.batchSize, c.outHeight, c.outWidth, c.outChannels], 'float32');
  if (tf.util.sizeFromShape(out.shape) === 0) return out;
  runNative(backend, c, (g) =>
    nat.depthwise_forward(addressOf(backend, x), addressOf(backend, filter), addressOf(backend, out), g),
  );
  return out;
}

/** dW [KH,KW,C,M] from x [N,H,W,C] and dy [N,OH,OW,C·M]. */
export function depthwiseBackpropFilter(args: Args): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { backend, attrs } = args;
  const filterShape = attrs.filterShape as number[];
  const c = infoOf(x.shape, filterShape, attrs);
  const out = backend.makeOutput(filterShape, 'float32');
  const nat: NativeKernels | null = nativeKernels(backend);
  if (
    nat &&
    runNative(backend, c, (g) =>
      nat.depthwise_filter_grad(addressOf(backend, x), addressOf(backend, dy), addressOf(backend, out), g),
    ) === 1
  )
    return out;
  // no native kernels, or no memory for their scratch: the portable loop
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  const dwv = f32(backend, out);
  dwv.fill(0);
  const C = c.inChannels;
  const M = c.outChannels / C;
  if (M === 1) {
    forEachTap(c, (xo, dyo, fo) => {
      for (let ch = 0; ch < C; ch++) dwv[fo + ch]! += xv[xo + ch]! * dyv[dyo + ch]!;
    });
  } else {
    forEachTap(c, (xo, dyo, fo) => {
      for (let ch = 0; ch < C; ch++) {
        const xval = xv[xo + ch]!;
        for (let q = 0; q < M; q++) dwv[fo + ch * M + q]! += xval * dyv[dyo + ch * M + q]!;
      }
    });
  }
  return out;
}

/**
 * dx [N,H,W,C] from dy [N,OH,OW,C] and filter [KH,KW,C,1] as a forward depthwise convolution:
 * dx = (dy zero-upsampled by the stride) ⋆ (filter rotated 180°) with padding KH−1−top (the
 * "full" correlation). XNNPACK's SIMD depthwise kernel then does the work: a direct JS loop was
 * ~20× slower than the forward pass and a third of an IRM step. null when the geometry does not
 * fit (dilation, a multiplier, padding wider than the kernel): the caller loops instead.
 */
function backpropInputAsForward(
  backend: BackendWasm,
  c: tf.backend_util.Conv2DInfo,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
): tf.TensorInfo | null {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = c;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = c;
  if (c.outChannels !== C || c.dilationHeight !== 1 || c.dilationWidth !== 1) return null;
  const upH = (OH - 1) * sh + 1;
  const upW = (OW - 1) * sw + 1;
  const top = KH - 1 - c.padInfo.top;
  const left = KW - 1 - c.padInfo.left;
  const bottom = H - 1 + KH - upH - top;
  const right = W - 1 + KW - upW - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  const strided = sh !== 1 || sw !== 1;
  const rot = backend.makeOutput([KH, KW, C, 1], 'float32');
  const up = strided ? backend.makeOutput([N, upH, upW, C], 'float32') : dy;
  // views only after every allocation (makeOutput may grow wasm memory)
  const wv = f32(backend, filter);
  const rv = f32(backend, rot);
  for (let kh = 0; kh < KH; kh++)
    for (let kw = 0; kw < KW; kw++) {
      const from = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * C;
      rv.set(wv.subarray(from, from + C), (kh * KW + kw) * C);
    }
  if (strided) {
    const dyv = f32(backend, dy);
    const uv = f32(backend, up);
    uv.fill(0);
    for (let n = 0; n < N; n++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const from = ((n * OH + oh) * OW + ow) * C;
          uv.set(dyv.subarray(from, from + C), ((n * upH + oh * sh) * upW + ow * sw) * C);
        }
  }
  const dx = stock(
    'DepthwiseConv2dNative',
    backend,
    { x: up, filter: rot },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dilations: [1, 1],
      dataFormat: 'NHWC',
    },
  );
  backend.disposeData(rot.dataId);
  if (strided) backend.disposeData(up.dataId);
  return dx;
}

/** dx [N,H,W,C] from dy [N,OH,OW,C·M] and filter [KH,KW,C,M]. */
export function depthwiseBackpropInput(args: Args): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { backend, attrs } = args;
  const inputShape = attrs.inputShape as number[];
  const c = infoOf(inputShape, filter.shape, attrs);
  const nat = nativeKernels(backend);
  if (nat) {
    const out = backend.makeOutput(inputShape, 'float32');
    runNative(backend, c, (g) =>
      nat.depthwise_input_grad(
        addressOf(backend, dy),
        addressOf(backend, filter),
        addressOf(backend, out),
        g,
      ),
    );
    return out;
  }
  const fast = backpropInputAsForward(backend, c, dy, filter);
  if (fast) return fast;
  const out = backend.makeOutput(inputShape, 'float32');
  const dyv = f32(backend, dy);
  const wv = f32(backend, filter);
  const dx = f32(backend, out);
  dx.fill(0);
  const C = c.inChannels;
  const M = c.outChannels / C;
  if (M === 1) {
    forEachTap(c, (xo, dyo, fo) => {
      for (let ch = 0; ch < C; ch++) dx[xo + ch]! += wv[fo + ch]! * dyv[dyo + ch]!;
    });
  } else {
    forEachTap(c, (xo, dyo, fo) => {
      for (let ch = 0; ch < C; ch++) {
        let s = 0;
        for (let q = 0; q < M; q++) s += wv[fo + ch * M + q]! * dyv[dyo + ch * M + q]!;
        dx[xo + ch]! += s;
      }
    });
  }
  return out;
}
