/**
 * Exports a trained MAE reconstructor to ONNX (opset 17), mirroring models/mae/mae.ts op for op.
 *
 * Inputs:  image [N,H,W,3] float32 RGB in [0,1], NHWC (the layout of the tfjs model);
 *          noise [N,L] float32: the masking noise; the lenKeep smallest values are kept (TopK,
 *          ascending), exactly as maskingFromNoise, so a given noise gives a deterministic output;
 *          with `keepInput` only, keep [1] int64: the number of kept patches, lenKeepFor(L, ratio),
 *          so one file masks at any ratio (the browser app's model), and paste_back [1] float32:
 *          the release knob (weight of the real pixels on the visible patches, Mae.reconstruct's
 *          `pasteBack`). Otherwise the ratio is baked in and the visible patches pasted back.
 *          (An initializer-as-default input would keep one file for both, but onnxruntime's JS
 *          bindings drop feeds not in inputNames, so the default could not be overridden.)
 * Outputs: reconstruction [N,H,W,3] in [0,1] (visible patches pasted back, clipped),
 *          pred [N,L,p*p*3] (normalised pixels), mask [N,L] (1 = removed).
 * The batch size N is dynamic.
 */
import fs from 'node:fs';
import { FaceMaeError } from '../core/errors.js';
import { quantizeInt8 } from '../core/quantize.js';
import { atomicWriteFile } from '../core/fs.js';
import type { Mae } from '../models/mae/mae.js';
import { lenKeepFor } from '../models/mae/masking.js';
import { DTYPE, OnnxGraphBuilder } from './onnx-builder.js';

export const ONNX_OPSET = 17;

export interface MaeOnnxOptions {
  /** Add the `keep` (kept patches per image) and `paste_back` inputs instead of baking them in. */
  keepInput?: boolean;
  /**
   * Store every trained weight as int8 with per-output-channel scales (src/core/quantize.ts, as compact
   * checkpoints), dequantised in the graph (Cast·Mul, folded to float32 when loaded): a quarter of the download. An int8
   * checkpoint such as assets/models/facemae-tiny is re-quantised to the same codes.
   */
  int8?: boolean;
}

/** Builds the ONNX model bytes for `mae` with a fixed mask ratio (the default of `keep` with keepInput). */
export async function maeToOnnx(mae: Mae, maskRatio: number, opts: MaeOnnxOptions = {}): Promise<Uint8Array> {
  const c = mae.config;
  if (c.normPixLoss)
    throw new FaceMaeError(
      'ONNX export of a normPixLoss model is not supported (its output needs the masked patches’ statistics)',
    );
  const p = c.patchSize;
  const S = c.imageSize;
  const h = S / p;
  const L = mae.numPatches;
  const pd = p * p * 3;
  const K = lenKeepFor(L, maskRatio);
  const g = new OnnxGraphBuilder();
  const W: Record<string, string> = {};
  for (const [name, v] of Object.entries(mae.allParams)) {
    const values = Float32Array.from(await v.data());
    // the fixed sin-cos position embeddings are no checkpoint weights: they stay float32
    if (!opts.int8 || !(name in mae.variables)) {
      W[name] = g.floatTensor(name, [...v.shape], values);
      continue;
    }
    const { q, scales } = quantizeInt8(values, v.shape);
    // Cast·scale rather than DequantizeLinear: onnxruntime (optimisation level 'extended' and up)
    // fuses DequantizeLinear→MatMul into an integer kernel that also quantises the activations,
    // which changes the outputs by ~1e-2; Cast·Mul of initializers is folded to float32 at load.
    const perAxis = v.shape.length > 1;
    W[name] = g.op('Mul', [
      g.op('Cast', [g.int8Tensor(`${name}.q`, [...v.shape], q)], { to: DTYPE.FLOAT }),
      g.floatTensor(`${name}.scale`, perAxis ? [scales.length] : [], scales),
    ]);
  }
  const w = (k: string) => {
    const n = W[k];
    if (!n) throw new Error(`no weight ${k}`);
    return n;
  };
  const image = g.input('image', DTYPE.FLOAT, ['N', S, S, 3]);
  const noise = g.input('noise', DTYPE.FLOAT, ['N', L]);
  const keep = opts.keepInput ? g.input('keep', DTYPE.INT64, [1]) : g.int64([K]);
  const pasteBack = opts.keepInput ? g.input('paste_back', DTYPE.FLOAT, [1]) : g.float(1);

  const dense = (x: string, prefix: string) =>
    g.op('Add', [g.op('MatMul', [x, w(`${prefix}.w`)]), w(`${prefix}.b`)]);
  const ln = (x: string, prefix: string) =>
    g.op('LayerNormalization', [x, w(`${prefix}.g`), w(`${prefix}.b`)], {
      axis: -1,
      epsilon: { float: 1e-6 },
    });
  const gelu = (x: string) => {
    const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
    const u = g.op('Mul', [
      g.op('Add', [x, g.op('Mul', [x3, g.float(0.044715)])]),
      g.float(2 * Math.sqrt(2 / Math.PI)),
    ]);
    return g.op('Mul', [x, g.op('Sigmoid', [u])]);
  };
  const block = (x: string, prefix: string, dim: number, heads: number) => {
    const d = dim / heads;
    const h1 = ln(x, `${prefix}.norm1`);
    const split = (t: string) =>
      g.op('Transpose', [g.op('Reshape', [dense(h1, `${prefix}.attn.${t}`), g.int64([0, 0, heads, d])])], {
        perm: [0, 2, 1, 3],
      });
    const q = g.op('Mul', [split('q'), g.float(1 / Math.sqrt(d))]);
    const kT = g.op(
      'Transpose',
      [g.op('Reshape', [dense(h1, `${prefix}.attn.k`), g.int64([0, 0, heads, d])])],
      { perm: [0, 2, 3, 1] },
    );
    const v = split('v');
    const attn = g.op('Softmax', [g.op('MatMul', [q, kT])], { axis: -1 });
    const o = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [attn, v])], { perm: [0, 2, 1, 3] }),
      g.int64([0, 0, dim]),
    ]);
    const x1 = g.op('Add', [x, dense(o, `${prefix}.attn.proj`)]);
    const m = dense(gelu(dense(ln(x1, `${prefix}.norm2`), `${prefix}.mlp.fc1`)), `${prefix}.mlp.fc2`);
    return g.op('Add', [x1, m]);
  };
  const sliceAxis1 = (x: string, start: number, end: number) =>
    g.op('Slice', [x, g.int64([start]), g.int64([end]), g.int64([1])]);

  // patchify((x-0.5)/0.5): [N,S,S,3] -> [N*h,p,h,p*3] -> swap -> [N,L,p*p*3]
  const xn = g.op('Div', [g.op('Sub', [image, g.float(0.5)]), g.float(0.5)]);
  const patches = g.op('Reshape', [
    g.op('Transpose', [g.op('Reshape', [xn, g.int64([-1, p, h, p * 3])])], { perm: [0, 2, 1, 3] }),
    g.int64([-1, L, pd]),
  ]);

  // masking: ids_keep = indices of the K smallest noise values (ascending); one-hot selection
  g.op('TopK', [noise, keep], { axis: -1, largest: 0, sorted: 1 }, undefined, 2);
  const idsKeep = g.lastOutputs()[1] as string; // [N,K] int64
  const sel = g.op(
    'Cast',
    [
      g.op('Equal', [
        g.op('Unsqueeze', [idsKeep, g.int64([-1])]),
        g.int64(Array.from({ length: L }, (_, i) => i)),
      ]),
    ],
    {
      to: DTYPE.FLOAT,
    },
  ); // [N,K,L]
  const mask = g.op('Sub', [g.float(1), g.op('ReduceSum', [sel, g.int64([1])], { keepdims: 0 })]); // [N,L]

  // encoder
  let x = g.op('Add', [dense(patches, 'patch_embed'), sliceAxis1(w('pos_embed'), 1, L + 1)]);
  x = g.op('MatMul', [sel, x]); // [N,K,D]
  const cls = g.op('Add', [w('cls_token'), sliceAxis1(w('pos_embed'), 0, 1)]); // [1,1,D]
  const n1 = g.op('Slice', [g.op('Shape', [noise]), g.int64([0]), g.int64([1])]); // [N]
  const clsN = g.op('Expand', [cls, g.op('Concat', [n1, g.int64([1, c.dim])], { axis: 0 })]);
  x = g.op('Concat', [clsN, x], { axis: 1 });
  for (let i = 0; i < c.depth; i++) x = block(x, `blocks.${i}`, c.dim, c.heads);
  x = ln(x, 'norm');

  // decoder
  let y = dense(x, 'decoder_embed');
  const clsD = sliceAxis1(y, 0, 1);
  const vis = sliceAxis1(y, 1, 1 + L); // the 1 + keep tokens (Slice clamps the end)
  const placed = g.op('MatMul', [g.op('Transpose', [sel], { perm: [0, 2, 1] }), vis]); // [N,L,Dd]
  const full = g.op('Add', [
    placed,
    g.op('Mul', [g.op('Unsqueeze', [mask, g.int64([-1])]), w('mask_token')]),
  ]);
  y = g.op('Add', [g.op('Concat', [clsD, full], { axis: 1 }), w('decoder_pos_embed')]);
  for (let i = 0; i < c.decoderDepth; i++) y = block(y, `decoder_blocks.${i}`, c.decoderDim, c.decoderHeads);
  y = ln(y, 'decoder_norm');
  const pred = sliceAxis1(dense(y, 'decoder_pred'), 1, L + 1); // [N,L,pd]

  // the real pixels' weight per patch (0 where removed, paste_back where visible), as Mae.pasteBack;
  // unpatchify, back to [0,1]
  const m3 = g.op('Unsqueeze', [mask, g.int64([-1])]);
  const w3 = g.op('Mul', [g.op('Sub', [g.float(1), m3]), pasteBack]);
  const mixed = g.op('Add', [g.op('Mul', [pred, g.op('Sub', [g.float(1), w3])]), g.op('Mul', [patches, w3])]);
  const img = g.op('Reshape', [
    g.op('Transpose', [g.op('Reshape', [mixed, g.int64([-1, h, p, p * 3])])], { perm: [0, 2, 1, 3] }),
    g.int64([-1, S, S, 3]),
  ]);
  const rec = g.op('Clip', [
    g.op('Add', [g.op('Mul', [img, g.float(0.5)]), g.float(0.5)]),
    g.float(0),
    g.float(1),
  ]);

  g.output(rec, 'reconstruction', DTYPE.FLOAT, ['N', S, S, 3]);
  g.output(pred, 'pred', DTYPE.FLOAT, ['N', L, pd]);
  g.output(mask, 'mask', DTYPE.FLOAT, ['N', L]);
  return g.encode({
    name: 'facemae_reconstructor',
    opset: ONNX_OPSET,
    doc: 'FaceMAE reconstructor: image NHWC RGB [0,1] + masking noise [N,L] (the K smallest are kept) -> reconstruction NHWC [0,1]',
    metadata: {
      imageSize: String(S),
      patchSize: String(p),
      numPatches: String(L),
      maskRatio: String(maskRatio),
      lenKeep: String(K),
      keepInput: String(Boolean(opts.keepInput)),
      weights: opts.int8 ? 'int8' : 'float32',
      layout: 'NHWC',
      config: JSON.stringify(c),
    },
  });
}

/** Writes `file` atomically. */
export async function exportMaeOnnx(
  mae: Mae,
  maskRatio: number,
  file: string,
  opts: MaeOnnxOptions = {},
): Promise<{ file: string; bytes: number }> {
  const bytes = await maeToOnnx(mae, maskRatio, opts);
  await atomicWriteFile(file, bytes);
  return { file, bytes: fs.statSync(file).size };
}
