/**
 * Conv2D forward and both backprops on the wasm backend via im2col + GEMM (NHWC, filter
 * [KH,KW,Cin,Cout]). The im2col scratch is a plain JS Float32Array outside wasm memory, and the
 * batch is processed in chunks so it stays under `ctx.scratchFloats` (32-bit wasm memory ran out
 * with a full im2col at batch 32, 112 px).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ctx, f32, stock } from './context.js';

type ConvInfo = tf.backend_util.Conv2DInfo;

let scratch = new Float32Array(0);
function scratchOf(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch.subarray(0, size);
}

/** Frees the cached im2col scratch (tests, soak). */
export function releaseConvScratch(): void {
  scratch = new Float32Array(0);
}

function dataFormatOf(attrs: tf.NamedAttrMap, kernel: string): 'channelsLast' {
  const df = (attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC';
  const fmt = tf.backend_util.convertConv2DDataFormat(df);
  if (fmt !== 'channelsLast') throw new Error(`${kernel}: only NHWC is supported on wasm (got ${df})`);
  return fmt;
}

function convInfoOf(
  xShape: number[],
  filterShape: number[],
  attrs: tf.NamedAttrMap,
  kernel: string,
  depthwise = false,
): ConvInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    ((attrs.dilations as number | [number, number] | undefined) ?? 1) as [number, number],
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
    dataFormatOf(attrs, kernel),
  );
}

/** True when the convolution is a plain per-pixel matmul (1×1, stride 1, no padding). */
function isPointwise(c: ConvInfo): boolean {
  return (
    c.filterHeight === 1 &&
    c.filterWidth === 1 &&
    c.strideHeight === 1 &&
    c.strideWidth === 1 &&
    c.padInfo.top === 0 &&
    c.padInfo.left === 0 &&
    c.outHeight === c.inHeight &&
    c.outWidth === c.inWidth
  );
}

/** GEMM rows per chunk: a cache-sized im2col block also kept OpenBLAS off its slow tall-skinny path. */
const CHUNK_ROWS = 16384;

/** Images per chunk so that rows·rowLen floats fit the scratch bound (and rows ≈ CHUNK_ROWS). */
function chunkOf(c: ConvInfo): number {
  const rows = c.outHeight * c.outWidth;
  const perImage = rows * c.filterHeight * c.filterWidth * c.inChannels;
  const byScratch = Math.floor(ctx.scratchFloats / Math.max(1, perImage));
  const byRows = Math.floor(CHUNK_ROWS / Math.max(1, rows));
  return Math.max(1, Math.min(c.batchSize, byScratch, byRows));
}

/** Channels below which the stock XNNPACK forward beats im2col + GEMM (the RGB stem). */
const MIN_GEMM_CHANNELS = 8;

/** cols [nb·OH·OW, KH·KW·C] from x images n0..n0+nb (zeros where the window leaves the image). */
function im2col(x: Float32Array, c: ConvInfo, n0: number, nb: number, cols: Float32Array): void {
  const H = c.inHeight;
  const W = c.inWidth;
  const C = c.inChannels;
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = c;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const pt = c.padInfo.top;
  const pl = c.padInfo.left;
  const span = KW * C;
  let o = 0;
  for (let n = n0; n < n0 + nb; n++) {
    const xn = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const rowInside = dw === 1 && iw0 >= 0 && iw0 + KW <= W;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh - pt + kh * dh;
          if (ih < 0 || ih >= H) {
            cols.fill(0, o, o + span);
            o += span;
            continue;
          }
          const xrow = xn + ih * W * C;
          if (rowInside) {
            const s = xrow + iw0 * C;
            if (span >= 32) cols.set(x.subarray(s, s + span), o);
            else for (let i = 0; i < span; i++) cols[o + i] = x[s + i]!;
            o += span;
            continue;
          }
          for (let kw = 0; kw < KW; kw++) {
            const iw = iw0 + kw * dw;
            if (iw < 0 || iw >= W) cols.fill(0, o, o + C);
            else {
              const s = xrow + iw * C;
              for (let i = 0; i < C; i++) cols[o + i] = x[s + i]!;
            }
            o += C;
          }
        }
      }
    }
  }
}

/** dx images n0..n0+nb += scatter of cols (the adjoint of im2col). dx must be zeroed first. */
function col2im(cols: Float32Array, c: ConvInfo, n0: number, nb: number, dx: Float32Array): void {
  const H = c.inHeight;
  const W = c.inWidth;
  const C = c.inChannels;
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = c;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const pt = c.padInfo.top;
  const pl = c.padInfo.left;
  let o = 0;
  for (let n = n0; n < n0 + nb; n++) {
    const xn = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh - pt + kh * dh;
          if (ih < 0 || ih >= H) {
            o += KW * C;
            continue;
          }
          const xrow = xn + ih * W * C;
          for (let kw = 0; kw < KW; kw++) {
            const iw = iw0 + kw * dw;
            if (iw >= 0 && iw < W) {
              const s = xrow + iw * C;
              for (let i = 0; i < C; i++) dx[s + i]! += cols[o + i]!;
            }
            o += C;
          }
        }
      }
    }
  }
}

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

/** Conv2D x [N,H,W,Cin] * filter [KH,KW,Cin,Cout] -> [N,OH,OW,Cout]. */
export function conv2D(args: Args): tf.TensorInfo {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const { backend, attrs } = args;
  // Without native BLAS the stock XNNPACK convolution is faster than a JS GEMM.
  if (!ctx.native || x.dtype !== 'float32' || x.shape[3]! < MIN_GEMM_CHANNELS) {
    return stock('Conv2D', backend, args.inputs, attrs);
  }
  const c = convInfoOf(x.shape, filter.shape, attrs, 'Conv2D');
  const out = backend.makeOutput([c.batchSize, c.outHeight, c.outWidth, c.outChannels], 'float32');
  const xv = f32(backend, x);
  const wv = f32(backend, filter);
  const ov = f32(backend, out);
  const rowLen = c.filterHeight * c.filterWidth * c.inChannels;
  const Co = c.outChannels;
  if (isPointwise(c)) {
    ctx.gemm(
      false,
      false,
      c.batchSize * c.outHeight * c.outWidth,
      Co,
      rowLen,
      1,
      xv,
      rowLen,
      wv,
      Co,
      0,
      ov,
      Co,
    );
    return out;
  }
  const chunk = chunkOf(c);
  const rowsPerImage = c.outHeight * c.outWidth;
  for (let n0 = 0; n0 < c.batchSize; n0 += chunk) {
    const nb = Math.min(chunk, c.batchSize - n0);
    const rows = nb * rowsPerImage;
    const cols = scratchOf(rows * rowLen);
    im2col(xv, c, n0, nb, cols);
    const o = n0 * rowsPerImage * Co;
    ctx.gemm(false, false, rows, Co, rowLen, 1, cols, rowLen, wv, Co, 0, ov.subarray(o, o + rows * Co), Co);
  }
  return out;
}

/** dW [KH,KW,Cin,Cout] = Σ im2col(x)ᵀ · dy, from x [N,H,W,Cin] and dy [N,OH,OW,Cout]. */
export function conv2DBackpropFilter(args: Args): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { backend, attrs } = args;
  const filterShape = attrs.filterShape as number[];
  const c = convInfoOf(x.shape, filterShape, attrs, 'Conv2DBackpropFilter');
  const out = backend.makeOutput(filterShape, 'float32');
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  const dw = f32(backend, out);
  const rowLen = c.filterHeight * c.filterWidth * c.inChannels;
  const Co = c.outChannels;
  const rowsPerImage = c.outHeight * c.outWidth;
  if (isPointwise(c)) {
    ctx.gemm(true, false, rowLen, Co, c.batchSize * rowsPerImage, 1, xv, rowLen, dyv, Co, 0, dw, Co);
    return out;
  }
  if (c.batchSize === 0) dw.fill(0);
  const chunk = chunkOf(c);
  for (let n0 = 0; n0 < c.batchSize; n0 += chunk) {
    const nb = Math.min(chunk, c.batchSize - n0);
    const rows = nb * rowsPerImage;
    const cols = scratchOf(rows * rowLen);
    im2col(xv, c, n0, nb, cols);
    const o = n0 * rowsPerImage * Co;
    ctx.gemm(
      true,
      false,
      rowLen,
      Co,
      rows,
      1,
      cols,
      rowLen,
      dyv.subarray(o, o + rows * Co),
      Co,
      n0 === 0 ? 0 : 1,
      dw,
      Co,
    );
  }
  return out;
}

/**
 * W' [KH,KW,Cout,Cin] with W'[kh,kw,o,i] = W[KH-1-kh, KW-1-kw, i, o]: the filter of the
 * convolution that computes a stride-1 input gradient.
 */
function flipFilter(w: Float32Array, KH: number, KW: number, Ci: number, Co: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const src = (kh * KW + kw) * Ci * Co;
      const dst = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * Co * Ci;
      for (let i = 0; i < Ci; i++) for (let o = 0; o < Co; o++) out[dst + o * Ci + i] = w[src + i * Co + o]!;
    }
  }
  return out;
}

/**
 * Stride-1 input gradient as a forward convolution of dy with the flipped filter (padding
 * KH-1-top): im2col copies instead of col2im scatter-adds. Returns false when not applicable.
 */
function backpropInputAsConv(c: ConvInfo, dyv: Float32Array, wv: Float32Array, dx: Float32Array): boolean {
  if (c.strideHeight !== 1 || c.strideWidth !== 1) return false;
  const padTop = c.dilationHeight * (c.filterHeight - 1) - c.padInfo.top;
  const padLeft = c.dilationWidth * (c.filterWidth - 1) - c.padInfo.left;
  if (padTop < 0 || padLeft < 0) return false;
  const g = {
    ...c,
    inHeight: c.outHeight,
    inWidth: c.outWidth,
    inChannels: c.outChannels,
    outHeight: c.inHeight,
    outWidth: c.inWidth,
    outChannels: c.inChannels,
    padInfo: { ...c.padInfo, top: padTop, left: padLeft },
  } as ConvInfo;
  const wf = flipFilter(wv, c.filterHeight, c.filterWidth, c.inChannels, c.outChannels);
  const rowLen = g.filterHeight * g.filterWidth * g.inChannels;
  const Ci = c.inChannels;
  const chunk = chunkOf(g);
  const rowsPerImage = g.outHeight * g.outWidth;
  for (let n0 = 0; n0 < g.batchSize; n0 += chunk) {
    const nb = Math.min(chunk, g.batchSize - n0);
    const rows = nb * rowsPerImage;
    const cols = scratchOf(rows * rowLen);
    im2col(dyv, g, n0, nb, cols);
    const o = n0 * rowsPerImage * Ci;
    ctx.gemm(false, false, rows, Ci, rowLen, 1, cols, rowLen, wf, Ci, 0, dx.subarray(o, o + rows * Ci), Ci);
  }
  return true;
}

/** dx [N,H,W,Cin] = col2im(dy · Wᵀ), from dy [N,OH,OW,Cout] and filter [KH,KW,Cin,Cout]. */
export function conv2DBackpropInput(args: Args): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { backend, attrs } = args;
  const inputShape = attrs.inputShape as number[];
  const c = convInfoOf(inputShape, filter.shape, attrs, 'Conv2DBackpropInput');
  const out = backend.makeOutput(inputShape, 'float32');
  const dyv = f32(backend, dy);
  const wv = f32(backend, filter);
  const dx = f32(backend, out);
  const rowLen = c.filterHeight * c.filterWidth * c.inChannels;
  const Co = c.outChannels;
  const rowsPerImage = c.outHeight * c.outWidth;
  if (isPointwise(c)) {
    ctx.gemm(false, true, c.batchSize * rowsPerImage, rowLen, Co, 1, dyv, Co, wv, Co, 0, dx, rowLen);
    return out;
  }
  if (c.batchSize > 0 && backpropInputAsConv(c, dyv, wv, dx)) return out;
  dx.fill(0);
  const chunk = chunkOf(c);
  for (let n0 = 0; n0 < c.batchSize; n0 += chunk) {
    const nb = Math.min(chunk, c.batchSize - n0);
    const rows = nb * rowsPerImage;
    const cols = scratchOf(rows * rowLen);
    const o = n0 * rowsPerImage * Co;
    ctx.gemm(false, true, rows, rowLen, Co, 1, dyv.subarray(o, o + rows * Co), Co, wv, Co, 0, cols, rowLen);
    col2im(cols, c, n0, nb, dx);
  }
  return out;
}
