/**
 * Conv2D forward and both backprops on the wasm backend via im2col + GEMM (NHWC, filter
 * [KH,KW,Cin,Cout]). The im2col scratch is a plain JS Float32Array outside wasm memory, and the
 * batch is processed in chunks so it stays under `ctx.scratchFloats` (32-bit wasm memory ran out
 * with a full im2col at batch 32, 112 px).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, convGeometry, ctx, f32, heap, stock, withConvGeometry } from './context.js';
import { simdKernels } from '../simd/index.js';
import { nativeCopies, nativeKernels } from '../native/index.js';
import { SUM_K_ROWS, type Gemm } from '../blas.js';

type ConvInfo = tf.backend_util.Conv2DInfo;

let scratch = new Float32Array(0);
function scratchOf(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch.subarray(0, size);
}

/**
 * The im2col scratch inside wasm memory, for the SIMD im2col (src/engine/simd): 13 ints of
 * geometry, then ctx.scratchFloats floats. Allocated once, at the start of a kernel before it
 * takes any view (an allocation may grow the memory and detach views); outside tfjs's tensors.
 */
let wasmScratch: { backend: BackendWasm; ptr: number; floats: number } | null = null;
const GEOM_BYTES = 64;
/** The emscripten allocator (exported by tfjs-wasm's module; its typings omit it). */
const wasmHeapFns = (backend: BackendWasm) =>
  backend.wasm as unknown as { _malloc(bytes: number): number; _free(ptr: number): void };

function prepareWasmColumns(backend: BackendWasm): void {
  if (!simdKernels(backend) || (wasmScratch?.backend === backend && wasmScratch.floats >= ctx.scratchFloats))
    return;
  releaseWasmScratch();
  const ptr = wasmHeapFns(backend)._malloc(GEOM_BYTES + 4 * ctx.scratchFloats) >>> 0;
  if (ptr) wasmScratch = { backend, ptr, floats: ctx.scratchFloats };
}

function releaseWasmScratch(): void {
  if (wasmScratch) wasmHeapFns(wasmScratch.backend)._free(wasmScratch.ptr);
  wasmScratch = null;
}

/** Frees the cached im2col scratch (tests, soak). */
export function releaseConvScratch(): void {
  scratch = new Float32Array(0);
  scratchB = new Float32Array(0);
  releaseWasmScratch();
}

/**
 * cols [nb·OH·OW, KH·KW·C] of images n0..n0+nb of x: by the SIMD kernel into the wasm scratch when
 * x is a view of wasm memory and the scratch was prepared and fits, else by the JS loop into the
 * JS scratch. The returned view is valid until the next call.
 */
function columns(
  x: Float32Array,
  c: ConvInfo,
  n0: number,
  nb: number,
  rows: number,
  rowLen: number,
): Float32Array {
  const size = rows * rowLen;
  const ws = wasmScratch;
  const simd = ws ? simdKernels(ws.backend) : null;
  if (ws && simd && size <= ws.floats && x.buffer === heap(ws.backend).buffer) {
    const geom = new Int32Array(heap(ws.backend).buffer, ws.ptr, 13);
    geom.set(convGeometry(c));
    const cols = ws.ptr + GEOM_BYTES;
    simd.im2col(x.byteOffset, cols, n0, nb, ws.ptr);
    return new Float32Array(heap(ws.backend).buffer, cols, size);
  }
  const cols = scratchOf(size);
  im2col(x, c, n0, nb, cols);
  return cols;
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

/**
 * out [N·OH·OW, cout] = im2col(src) · w, over the batch in chunks so the columns fit the scratch:
 * the generic convolution (forward, and the input gradient as a convolution of dy).
 * src [N,H,W,C] in geometry g; w [KH·KW·C, cout].
 */
function convByIm2col(
  src: Float32Array,
  g: ConvInfo,
  w: Float32Array,
  cout: number,
  out: Float32Array,
): void {
  const rowLen = g.filterHeight * g.filterWidth * g.inChannels;
  const chunk = chunkOf(g);
  const rowsPerImage = g.outHeight * g.outWidth;
  for (let n0 = 0; n0 < g.batchSize; n0 += chunk) {
    const nb = Math.min(chunk, g.batchSize - n0);
    const rows = nb * rowsPerImage;
    const cols = columns(src, g, n0, nb, rows, rowLen);
    const o = n0 * rowsPerImage * cout;
    ctx.gemm(
      false,
      false,
      rows,
      cout,
      rowLen,
      1,
      cols,
      rowLen,
      w,
      cout,
      0,
      out.subarray(o, o + rows * cout),
      cout,
    );
  }
}

/**
 * The GEMM of a filter gradient, op(A)ᵀ·dy [m,n] summed over K pixels: with the native kernels,
 * K cut into fixed pieces over the threads when the product is thin (m·n ≤ 4,096, where
 * `gemmThreads` gives one thread and a row split has no rows to cut) and long; else the GEMM.
 */
function filterGemm(m: number, n: number, k: number): Gemm {
  return ctx.gemmSumK && nativeCopies() && m * n <= 4096 && k >= 2 * SUM_K_ROWS ? ctx.gemmSumK : ctx.gemm;
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

// ---------------------------------------------------------------------------------------------
// Stride-1 convolutions without im2col: the input is copied once into a zero-padded buffer and
// the output is computed in the padded-width layout (row r = oh·Wp + ow) as KH·KW accumulated
// GEMMs on shifted contiguous views; the Wp − OW extra columns per row are cropped at the end.

let scratchB = new Float32Array(0);
function scratchBOf(size: number): Float32Array {
  if (scratchB.length < size) scratchB = new Float32Array(size);
  return scratchB.subarray(0, size);
}

/** Padded-layout geometry of a stride-1, undilated convolution (null when it does not apply). */
interface PadGeom {
  N: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  pt: number;
  pl: number;
  Hp: number;
  Wp: number;
}

/**
 * Largest padded-area overhead (Hp·Wp / OH·OW) for the padded path: measured on the IResNet
 * shapes it matched or beat im2col at 112/56/28 px (overhead ≤ 1.15) and lost at 14 and 7 px.
 */
const MAX_PAD_OVERHEAD = 1.2;

function padGeom(
  N: number,
  H: number,
  W: number,
  OH: number,
  OW: number,
  KH: number,
  KW: number,
  pt: number,
  pl: number,
): PadGeom | null {
  const Hp = OH + KH - 1;
  const Wp = OW + KW - 1;
  if (pt < 0 || pl < 0 || pt + H > Hp || pl + W > Wp || OH < 1 || OW < 1) return null;
  if ((Hp * Wp) / (OH * OW) > MAX_PAD_OVERHEAD) return null;
  return { N, H, W, OH, OW, KH, KW, pt, pl, Hp, Wp };
}

function strideOneGeom(c: ConvInfo): PadGeom | null {
  if (c.strideHeight !== 1 || c.strideWidth !== 1 || c.dilationHeight !== 1 || c.dilationWidth !== 1)
    return null;
  if (c.filterHeight === 1 && c.filterWidth === 1) return null;
  return padGeom(
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.padInfo.top,
    c.padInfo.left,
  );
}

/** Images per chunk of the padded path (rows ≈ PAD_CHUNK_ROWS, scratch within ctx.scratchFloats). */
const PAD_CHUNK_ROWS = 65536;
function padChunk(g: PadGeom, C: number): number {
  const img = g.Hp * g.Wp;
  const byScratch = Math.floor(ctx.scratchFloats / Math.max(1, img * C));
  const byRows = Math.floor(PAD_CHUNK_ROWS / img);
  return Math.max(1, Math.min(g.N, byScratch, byRows));
}

/** dst [nb, Hp, Wp, C] = images n0..n0+nb of src [N, H, W, C] placed at (pt, pl), zeros around. */
function padImages(
  src: Float32Array,
  g: PadGeom,
  C: number,
  n0: number,
  nb: number,
  dst: Float32Array,
): void {
  const { H, W, Hp, Wp, pt, pl } = g;
  const geo = Int32Array.of(nb, H, W, C, 0, pt, pl, 0, nb, Hp, Wp, C);
  if (nativeCopies()?.pad4(src.subarray(n0 * H * W * C, (n0 + nb) * H * W * C), dst, geo, 0)) return;
  const rowP = Wp * C;
  const rowX = W * C;
  const left = pl * C;
  const right = (Wp - pl - W) * C;
  let o = 0;
  for (let n = n0; n < n0 + nb; n++) {
    dst.fill(0, o, o + pt * rowP);
    o += pt * rowP;
    let s = n * H * rowX;
    for (let h = 0; h < H; h++) {
      if (left) dst.fill(0, o, o + left);
      dst.set(src.subarray(s, s + rowX), o + left);
      if (right) dst.fill(0, o + left + rowX, o + rowP);
      o += rowP;
      s += rowX;
    }
    const bottom = (Hp - pt - H) * rowP;
    dst.fill(0, o, o + bottom);
    o += bottom;
  }
}

/** Rows of the padded-width GEMMs for nb images (the last image's trailing rows are not needed). */
function padRows(g: PadGeom, nb: number): number {
  return (nb - 1) * g.Hp * g.Wp + g.OH * g.Wp - (g.KW - 1);
}

/**
 * dst [M, C] = rows of y [N,OH,OW,C] images n0..n0+nb in the padded-width layout (row
 * n·img + oh·PW + ow, img = PH·PW), zeros in the rows no output pixel maps to; M as given. A dst
 * of whole images ([nb·img, C]) is filled to its end.
 */
function toPaddedWidth(
  y: Float32Array,
  OH: number,
  OW: number,
  C: number,
  PW: number,
  img: number,
  n0: number,
  nb: number,
  M: number,
  dst: Float32Array,
): void {
  const rowO = OW * C;
  // natively (split over threads) when dst holds whole images: [nb, img/PW, PW, C], y at the top left
  if (dst.length >= nb * img * C) {
    const geo = Int32Array.of(nb, OH, OW, C, 0, 0, 0, 0, nb, img / PW, PW, C);
    if (nativeCopies()?.pad4(y.subarray(n0 * OH * rowO, (n0 + nb) * OH * rowO), dst, geo, 0)) return;
  }
  let pos = 0;
  for (let n = 0; n < nb; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const d = (n * img + oh * PW) * C;
      if (d > pos) dst.fill(0, pos, d);
      const src = ((n0 + n) * OH + oh) * rowO;
      dst.set(y.subarray(src, src + rowO), d);
      pos = d + rowO;
    }
  }
  if (M * C > pos) dst.fill(0, pos, M * C);
}

/**
 * dW [KH,KW,Ci,Co] of a stride-1 convolution on the padded path: with x padded and dy in the
 * padded-width layout, tap (kh, kw) is one GEMM xp[shifted]ᵀ·dyp over all rows (zero dy rows
 * cancel the wrapped columns). No im2col: at 56 px, 16 channels the column matrix was 9× the input.
 */
function filterGradPadded(
  xv: Float32Array,
  dyv: Float32Array,
  g: PadGeom,
  Ci: number,
  Co: number,
  dw: Float32Array,
): void {
  paddedChunks(xv, g, Ci, Co, (n0, nb, xp, M) => {
    const dyp = scratchBOf(nb * g.Hp * g.Wp * Co); // whole images: the native copy fills it
    toPaddedWidth(dyv, g.OH, g.OW, Co, g.Wp, g.Hp * g.Wp, n0, nb, M, dyp);
    for (let kh = 0; kh < g.KH; kh++) {
      for (let kw = 0; kw < g.KW; kw++) {
        const a = xp.subarray((kh * g.Wp + kw) * Ci);
        const o = (kh * g.KW + kw) * Ci * Co;
        filterGemm(Ci, Co, M)(
          true,
          false,
          Ci,
          Co,
          M,
          1,
          a,
          Ci,
          dyp,
          Co,
          n0 === 0 ? 0 : 1,
          dw.subarray(o, o + Ci * Co),
          Co,
        );
      }
    }
  });
}

/**
 * Runs `body` per chunk of images n0..n0+nb of src [N,H,W,Ci], padded into the scratch `xp`
 * [nb,Hp,Wp,Ci], with M = the padded-width GEMM rows; `Co` sizes the chunk with the other operand.
 */
function paddedChunks(
  src: Float32Array,
  g: PadGeom,
  Ci: number,
  Co: number,
  body: (n0: number, nb: number, xp: Float32Array, M: number) => void,
): void {
  const chunk = padChunk(g, Math.max(Ci, Co));
  for (let n0 = 0; n0 < g.N; n0 += chunk) {
    const nb = Math.min(chunk, g.N - n0);
    const xp = scratchOf(nb * g.Hp * g.Wp * Ci);
    padImages(src, g, Ci, n0, nb, xp);
    body(n0, nb, xp, padRows(g, nb));
  }
}

/**
 * out [N,OH,OW,Co] = stride-1 convolution of src [N,H,W,Ci]; weight(kh, kw) gives the [Ci,Co]
 * (or [Co,Ci] with transB) block of tap (kh, kw).
 */
function convPadded(
  src: Float32Array,
  g: PadGeom,
  Ci: number,
  Co: number,
  weight: (kh: number, kw: number) => Float32Array,
  transB: boolean,
  out: Float32Array,
): void {
  const img = g.Hp * g.Wp;
  const ldb = transB ? Ci : Co;
  paddedChunks(src, g, Ci, Co, (n0, nb, xp, M) => {
    const yp = scratchBOf(M * Co);
    let first = true;
    for (let kh = 0; kh < g.KH; kh++) {
      for (let kw = 0; kw < g.KW; kw++) {
        const a = xp.subarray((kh * g.Wp + kw) * Ci);
        ctx.gemm(false, transB, M, Co, Ci, 1, a, Ci, weight(kh, kw), ldb, first ? 0 : 1, yp, Co);
        first = false;
      }
    }
    const rowO = g.OW * Co;
    // yp is [nb, Hp, Wp, Co] up to its last needed row: the crop reads rows below OH·Wp of each image only
    const crop = Int32Array.of(nb, g.Hp, g.Wp, Co, 0, 0, 0, 0, nb, g.OH, g.OW, Co);
    if (nativeCopies()?.slice4(yp, out.subarray(n0 * g.OH * rowO, (n0 + nb) * g.OH * rowO), crop)) return;
    for (let n = 0; n < nb; n++) {
      for (let oh = 0; oh < g.OH; oh++) {
        const s = (n * img + oh * g.Wp) * Co;
        out.set(yp.subarray(s, s + rowO), ((n0 + n) * g.OH + oh) * rowO);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 1×1 convolutions with a stride (no padding): subsample the input rows, then one GEMM.

function isStrided1x1(c: ConvInfo): boolean {
  return (
    c.filterHeight === 1 &&
    c.filterWidth === 1 &&
    c.padInfo.top === 0 &&
    c.padInfo.left === 0 &&
    (c.outHeight - 1) * c.strideHeight < c.inHeight &&
    (c.outWidth - 1) * c.strideWidth < c.inWidth
  );
}

/** dst [N·OH·OW, C] = x[n, oh·sh, ow·sw, :]. */
function subsample(x: Float32Array, c: ConvInfo, dst: Float32Array): void {
  const C = c.inChannels;
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = c;
  if (nativeCopies()?.strided(x, dst, Int32Array.of(c.batchSize, H, W, C, OH, OW, sh, sw), false)) return;
  let o = 0;
  for (let n = 0; n < c.batchSize; n++) {
    for (let oh = 0; oh < OH; oh++) {
      let s = (n * H + oh * sh) * W * C;
      for (let ow = 0; ow < OW; ow++) {
        dst.set(x.subarray(s, s + C), o);
        o += C;
        s += sw * C;
      }
    }
  }
}

/** dx [N,H,W,C] = zeros with src rows [N·OH·OW, C] placed at the strided positions. */
function upsample(src: Float32Array, c: ConvInfo, dx: Float32Array): void {
  const C = c.inChannels;
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = c;
  if (nativeCopies()?.strided(src, dx, Int32Array.of(c.batchSize, H, W, C, OH, OW, sh, sw), true)) return;
  dx.fill(0);
  let o = 0;
  for (let n = 0; n < c.batchSize; n++) {
    for (let oh = 0; oh < OH; oh++) {
      let d = (n * H + oh * sh) * W * C;
      for (let ow = 0; ow < OW; ow++) {
        dx.set(src.subarray(o, o + C), d);
        o += C;
        d += sw * C;
      }
    }
  }
}

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

/**
 * y [N,OH,OW,Co] of x [N,H,W,C<8] (the RGB stem) by the native direct convolution, split over
 * threads; null without the native kernels (the stock XNNPACK kernel then runs, on one thread).
 */
function convThin({ inputs, backend, attrs }: Args): tf.TensorInfo | null {
  const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const nat = nativeKernels(backend);
  if (!nat) return null;
  const c = convInfoOf(x.shape, filter.shape, attrs, 'Conv2D');
  const out = backend.makeOutput([c.batchSize, c.outHeight, c.outWidth, c.outChannels], 'float32');
  if (tf.util.sizeFromShape(out.shape) === 0) return out;
  const at = (t: tf.TensorInfo) => addressOf(backend, t);
  withConvGeometry(backend, c, c.outChannels, (g) => nat.conv_thin(at(x), at(filter), at(out), g));
  return out;
}

/** Conv2D x [N,H,W,Cin] * filter [KH,KW,Cin,Cout] -> [N,OH,OW,Cout]. */
export function conv2D(args: Args): tf.TensorInfo {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const { backend, attrs } = args;
  if (x.dtype === 'float32' && attrs.dataFormat !== 'NCHW' && x.shape[3]! < MIN_GEMM_CHANNELS) {
    const thin = convThin(args);
    if (thin) return thin;
  }
  // Without native BLAS the stock XNNPACK convolution is faster than a JS GEMM.
  if (!ctx.native || x.dtype !== 'float32' || x.shape[3]! < MIN_GEMM_CHANNELS) {
    return stock('Conv2D', backend, args.inputs, attrs);
  }
  const c = convInfoOf(x.shape, filter.shape, attrs, 'Conv2D');
  const out = backend.makeOutput([c.batchSize, c.outHeight, c.outWidth, c.outChannels], 'float32');
  prepareWasmColumns(backend); // before any view
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
  if (c.batchSize === 0) return out;
  if (isStrided1x1(c)) {
    const xs = scratchOf(c.batchSize * c.outHeight * c.outWidth * rowLen);
    subsample(xv, c, xs);
    ctx.gemm(
      false,
      false,
      c.batchSize * c.outHeight * c.outWidth,
      Co,
      rowLen,
      1,
      xs,
      rowLen,
      wv,
      Co,
      0,
      ov,
      Co,
    );
    return out;
  }
  const pg = strideOneGeom(c);
  if (pg) {
    const Ci = c.inChannels;
    convPadded(xv, pg, Ci, Co, (kh, kw) => wv.subarray((kh * c.filterWidth + kw) * Ci * Co), false, ov);
    return out;
  }
  convByIm2col(xv, c, wv, Co, ov);
  return out;
}

/** dW [KH,KW,Cin,Cout] = Σ im2col(x)ᵀ · dy, from x [N,H,W,Cin] and dy [N,OH,OW,Cout]. */
export function conv2DBackpropFilter(args: Args): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { backend, attrs } = args;
  const filterShape = attrs.filterShape as number[];
  const c = convInfoOf(x.shape, filterShape, attrs, 'Conv2DBackpropFilter');
  const out = backend.makeOutput(filterShape, 'float32');
  prepareWasmColumns(backend); // before any view
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  const dw = f32(backend, out);
  const rowLen = c.filterHeight * c.filterWidth * c.inChannels;
  const Co = c.outChannels;
  const rowsPerImage = c.outHeight * c.outWidth;
  if (isPointwise(c)) {
    const K = c.batchSize * rowsPerImage;
    filterGemm(rowLen, Co, K)(true, false, rowLen, Co, K, 1, xv, rowLen, dyv, Co, 0, dw, Co);
    return out;
  }
  if (c.batchSize === 0) {
    dw.fill(0);
    return out;
  }
  if (isStrided1x1(c)) {
    const xs = scratchOf(c.batchSize * rowsPerImage * rowLen);
    subsample(xv, c, xs);
    const K = c.batchSize * rowsPerImage;
    filterGemm(rowLen, Co, K)(true, false, rowLen, Co, K, 1, xs, rowLen, dyv, Co, 0, dw, Co);
    return out;
  }
  const pg = strideOneGeom(c);
  if (pg) {
    filterGradPadded(xv, dyv, pg, c.inChannels, Co, dw);
    return out;
  }
  const chunk = chunkOf(c);
  for (let n0 = 0; n0 < c.batchSize; n0 += chunk) {
    const nb = Math.min(chunk, c.batchSize - n0);
    const rows = nb * rowsPerImage;
    const cols = columns(xv, c, n0, nb, rows, rowLen);
    const o = n0 * rowsPerImage * Co;
    filterGemm(rowLen, Co, rows)(
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
  convByIm2col(dyv, g, wf, c.inChannels, dx);
  return true;
}

/**
 * Stride-1 input gradient on the padded path: the forward padded convolution of dy (padding
 * KH−1−top) with the flipped filter, each tap's [Ci,Co] block used transposed (no flipped copy).
 */
function backpropInputPadded(c: ConvInfo, dyv: Float32Array, wv: Float32Array, dx: Float32Array): boolean {
  if (c.strideHeight !== 1 || c.strideWidth !== 1 || c.dilationHeight !== 1 || c.dilationWidth !== 1)
    return false;
  if (c.filterHeight === 1 && c.filterWidth === 1) return false;
  const KH = c.filterHeight;
  const KW = c.filterWidth;
  const g = padGeom(
    c.batchSize,
    c.outHeight,
    c.outWidth,
    c.inHeight,
    c.inWidth,
    KH,
    KW,
    KH - 1 - c.padInfo.top,
    KW - 1 - c.padInfo.left,
  );
  if (!g) return false;
  const Ci = c.inChannels;
  const Co = c.outChannels;
  convPadded(
    dyv,
    g,
    Co,
    Ci,
    (kh, kw) => wv.subarray(((KH - 1 - kh) * KW + (KW - 1 - kw)) * Ci * Co),
    true,
    dx,
  );
  return true;
}

/**
 * Strided (s > 1) input gradient without col2im: the padded input splits into s² phases (rows and
 * columns ≡ a, b mod s), each tap (kh, kw) reads one phase at a shift, so dPhase += dY·W[kh,kw]ᵀ is
 * one GEMM writing a shifted contiguous view (β = 1) with dY in the phase's padded-width layout
 * (zero rows in the extra columns). dx is then read back out of the phases. Returns false when not
 * applicable (dilation, negative padding).
 */
function backpropInputPhased(c: ConvInfo, dyv: Float32Array, wv: Float32Array, dx: Float32Array): boolean {
  const sh = c.strideHeight;
  const sw = c.strideWidth;
  if (sh !== sw || sh < 2 || c.dilationHeight !== 1 || c.dilationWidth !== 1) return false;
  const s = sh;
  const { filterHeight: KH, filterWidth: KW, outHeight: OH, outWidth: OW, inHeight: H, inWidth: W } = c;
  const pt = c.padInfo.top;
  const pl = c.padInfo.left;
  if (pt < 0 || pl < 0 || OH < 1 || OW < 1) return false;
  const Ci = c.inChannels;
  const Co = c.outChannels;
  const PH = OH + Math.floor((KH - 1) / s);
  const PW = OW + Math.floor((KW - 1) / s);
  const img = PH * PW;
  const phases = s * s;
  const perImage = Math.max(phases * img * Ci, img * Co);
  const chunk = Math.max(
    1,
    Math.min(c.batchSize, Math.floor(ctx.scratchFloats / perImage), Math.floor(PAD_CHUNK_ROWS / img)),
  );
  for (let n0 = 0; n0 < c.batchSize; n0 += chunk) {
    const nb = Math.min(chunk, c.batchSize - n0);
    const phaseLen = nb * img * Ci;
    const dp = scratchOf(phases * phaseLen);
    dp.fill(0);
    // dY in the padded-width layout [nb, PH, PW, Co] up to the last valid row
    const M = (nb - 1) * img + (OH - 1) * PW + OW;
    const dyp = scratchBOf(nb * img * Co); // whole images: the native copy fills it
    toPaddedWidth(dyv, OH, OW, Co, PW, img, n0, nb, M, dyp);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const phase = (kh % s) * s + (kw % s);
        const off = phase * phaseLen + (Math.floor(kh / s) * PW + Math.floor(kw / s)) * Ci;
        const wb = wv.subarray((kh * KW + kw) * Ci * Co);
        ctx.gemm(false, true, M, Ci, Co, 1, dyp, Co, wb, Co, 1, dp.subarray(off), Ci);
      }
    }
    // dx[n, ih, iw] = phase (ih+pt) mod s, (iw+pl) mod s at ((ih+pt) div s, (iw+pl) div s)
    const geo = Int32Array.of(nb, H, W, Ci, PH, PW, s, pt, pl);
    if (nativeCopies()?.phaseGather(dp, dx.subarray(n0 * H * W * Ci, (n0 + nb) * H * W * Ci), geo)) continue;
    for (let n = 0; n < nb; n++) {
      for (let ih = 0; ih < H; ih++) {
        const hp = ih + pt;
        const ph = Math.floor(hp / s);
        const a = hp % s;
        let d = ((n0 + n) * H + ih) * W * Ci;
        if (ph >= PH) {
          dx.fill(0, d, d + W * Ci);
          continue;
        }
        for (let iw = 0; iw < W; iw++, d += Ci) {
          const wp = iw + pl;
          const pw = Math.floor(wp / s);
          if (pw >= PW) {
            dx.fill(0, d, d + Ci);
            continue;
          }
          const src = (a * s + (wp % s)) * phaseLen + (n * img + ph * PW + pw) * Ci;
          dx.set(dp.subarray(src, src + Ci), d);
        }
      }
    }
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
  prepareWasmColumns(backend); // before any view
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
  if (c.batchSize === 0) return out;
  if (isStrided1x1(c)) {
    const rows = c.batchSize * rowsPerImage;
    const ds = scratchOf(rows * rowLen);
    ctx.gemm(false, true, rows, rowLen, Co, 1, dyv, Co, wv, Co, 0, ds, rowLen);
    upsample(ds, c, dx);
    return out;
  }
  if (backpropInputPadded(c, dyv, wv, dx)) return out;
  if (backpropInputAsConv(c, dyv, wv, dx)) return out;
  if (backpropInputPhased(c, dyv, wv, dx)) return out;
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
