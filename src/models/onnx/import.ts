/**
 * Imports a convolutional ONNX face recognizer (e.g. faceplugin's MobileFaceNet fr_feature.onnx,
 * insightface's IResNet w600k_*.onnx) into a differentiable tfjs function, so it can be the frozen
 * teacher that IRM gradients flow through. Activations run NHWC (tfjs' layout); ONNX NCHW constants
 * are converted once at import. Weights are constants: trainableVariables() is empty.
 */
// Gradients are registered by a side-effect import (tfjs-core alone ships none).
import { tf } from '../../engine/backend.js';
import type { OnnxGraph, OnnxNode, OnnxTensor } from './onnx-proto.js';
import type { FaceInputSpec } from './face-input.js';

/** ONNX operators this importer understands. */
export const SUPPORTED_ONNX_OPS = [
  'Conv',
  'BatchNormalization',
  'PRelu',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Flatten',
  'Reshape',
  'Gemm',
  'MatMul',
  'GlobalAveragePool',
  'AveragePool',
  'MaxPool',
  'Identity',
  'Dropout',
  'Constant',
] as const;
type SupportedOp = (typeof SUPPORTED_ONNX_OPS)[number];

/** A runtime value: `nhwc` marks a 4-D activation stored NHWC whose ONNX meaning is NCHW. */
interface Value {
  t: tf.Tensor;
  nhwc: boolean;
}
type Env = Map<string, Value>;
type Step = (env: Env) => void;
/** The activation a Conv step applies after its bias (the Conv's only reader, absorbed). */
type Activation = { kind: 'relu' } | { kind: 'prelu'; alpha: tf.Tensor };

export interface ImportedGraph {
  /** x: [N, S, S, 3] RGB in [0, 1] -> [N, D]. Not wrapped in tidy: the caller tidies. */
  run(x: tf.Tensor4D): tf.Tensor2D;
  embeddingDim: number;
  dispose(): void;
  /** Number of constant weights (parameters). */
  paramCount: number;
}

/** Names the operators of `graph` this importer cannot run (empty when it can run all). */
export function unsupportedOps(graph: OnnxGraph): string[] {
  const ok = new Set<string>(SUPPORTED_ONNX_OPS);
  return [
    ...new Set(
      graph.nodes
        .filter((n) => !ok.has(n.opType) || (n.domain && n.domain !== 'ai.onnx'))
        .map((n) => n.opType),
    ),
  ];
}

/** Compiles `graph` into a tfjs function. Throws a plain Error naming the node it cannot import. */
export function importOnnxGraph(graph: OnnxGraph, input: FaceInputSpec): ImportedGraph {
  const bad = unsupportedOps(graph);
  if (bad.length)
    throw new Error(
      `unsupported ONNX operators: ${bad.join(', ')} (supported: ${SUPPORTED_ONNX_OPS.join(', ')})`,
    );
  const graphInput = graph.inputs[0];
  const graphOutput = graph.outputs[0];
  if (!graphInput || !graphOutput) throw new Error('graph has no input or output');
  const statics = new Map<string, OnnxTensor>(graph.initializers);
  const owned: tf.Tensor[] = [];
  // tf.keep: constants created lazily inside the caller's tidy must outlive it.
  const keep = <T extends tf.Tensor>(t: T): T => {
    owned.push(tf.keep(t));
    return t;
  };
  const staticOf = (name: string, node: OnnxNode): OnnxTensor => {
    const s = statics.get(name);
    if (!s) throw new Error(`node ${node.name} (${node.opType}): input ${name} must be a constant`);
    return s;
  };
  /** The compiled steps in node order, each with the activations it reads (ONNX names). */
  const steps: { run: Step; reads: string[]; writes: string }[] = [];
  let current: OnnxNode | undefined;
  const addStep = (run: Step) => {
    steps.push({
      run,
      reads: (current?.inputs ?? []).filter((n) => n && !statics.has(n)),
      writes: current?.outputs[0] ?? '',
    });
  };
  const get = (env: Env, name: string, node: OnnxNode): Value => {
    const v = env.get(name);
    if (!v) throw new Error(`node ${node.name} (${node.opType}): input ${name} is not computed`);
    return v;
  };
  /** A constant operand of an elementwise op, shaped to broadcast against an NHWC / [N,C] value. */
  const operand = (c: OnnxTensor, nhwc: boolean): tf.Tensor => {
    const size = c.data.length;
    const values = Float32Array.from(c.data);
    if (size === 1) return keep(tf.scalar(values[0] ?? 0));
    if (nhwc) {
      // [C], [C,1,1] or [1,C,1,1] per-channel constants broadcast over the last axis in NHWC.
      const nonUnit = c.dims.filter((d) => d !== 1);
      if (nonUnit.length !== 1)
        throw new Error(`constant ${c.name} [${c.dims.join(',')}] cannot broadcast per channel`);
      return keep(tf.tensor1d(values));
    }
    return keep(tf.tensor(values, c.dims));
  };
  let paramCount = 0;
  for (const t of statics.values()) paramCount += t.data.length;
  const readers = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes)
    for (const i of n.inputs) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  /** Activation nodes run by the Conv step before them (a Conv's only reader: see convStep). */
  const absorbed = new Set<OnnxNode>();
  const activationAfter = (conv: OnnxNode): Activation | undefined => {
    const out = conv.outputs[0] ?? '';
    const next = readers.get(out);
    const n =
      next?.length === 1 && next[0]!.inputs[0] === out && out !== graphOutput.name ? next[0] : undefined;
    let act: Activation | undefined;
    if (n?.opType === 'Relu') act = { kind: 'relu' };
    else if (n?.opType === 'PRelu' && statics.has(n.inputs[1] ?? ''))
      act = { kind: 'prelu', alpha: operand(staticOf(n.inputs[1] ?? '', n), true) };
    if (n && act) absorbed.add(n);
    return act;
  };

  for (const node of graph.nodes) {
    current = node;
    const op = node.opType as SupportedOp;
    const [in0 = '', in1 = '', in2 = ''] = node.inputs;
    const out = node.outputs[0] ?? '';
    const ints = (k: string) => node.attrs.get(k)?.ints;
    const int = (k: string, d: number) => node.attrs.get(k)?.i ?? d;
    const float = (k: string, d: number) => node.attrs.get(k)?.f ?? d;
    switch (op) {
      case 'Constant': {
        const t = node.attrs.get('value')?.t;
        if (!t) throw new Error(`node ${node.name}: Constant without a tensor value`);
        statics.set(out, t);
        break;
      }
      case 'Identity':
      case 'Dropout':
        if (statics.has(in0)) statics.set(out, statics.get(in0) as OnnxTensor);
        else addStep((env) => env.set(out, get(env, in0, node)));
        break;
      case 'Conv':
        addStep(
          convStep(
            node,
            staticOf(in1, node),
            in2 ? staticOf(in2, node) : undefined,
            keep,
            get,
            activationAfter(node),
          ),
        );
        break;
      case 'BatchNormalization': {
        const [scale, bias, mean, variance] = [in1, in2, node.inputs[3] ?? '', node.inputs[4] ?? ''].map(
          (n) => staticOf(n, node),
        ) as [OnnxTensor, OnnxTensor, OnnxTensor, OnnxTensor];
        const eps = float('epsilon', 1e-5);
        const c = scale.data.length;
        const a = new Float32Array(c);
        const b = new Float32Array(c);
        for (let i = 0; i < c; i++) {
          a[i] = (scale.data[i] as number) / Math.sqrt((variance.data[i] as number) + eps);
          b[i] = (bias.data[i] as number) - (mean.data[i] as number) * (a[i] as number);
        }
        const ta = keep(tf.tensor1d(a));
        const tb = keep(tf.tensor1d(b));
        addStep((env) => {
          const x = get(env, in0, node);
          // Both NHWC and [N, C] put channels last, so a [C] affine broadcasts directly.
          if (!x.nhwc && x.t.rank !== 2)
            throw new Error(`node ${node.name}: BatchNormalization on rank ${x.t.rank}`);
          env.set(out, { t: tf.add(tf.mul(x.t, ta), tb), nhwc: x.nhwc });
        });
        break;
      }
      case 'PRelu': {
        if (absorbed.has(node)) {
          addStep((env) => env.set(out, get(env, in0, node))); // run by the Conv before it
          break;
        }
        // Per-channel ([C], [C,1,1]) or scalar slope: channels are last for NHWC and [N, C] alike.
        const alpha = operand(staticOf(in1, node), true);
        addStep((env) => {
          const x = get(env, in0, node);
          env.set(out, { t: tf.prelu(x.t, alpha), nhwc: x.nhwc });
        });
        break;
      }
      case 'Relu':
        if (absorbed.has(node)) {
          addStep((env) => env.set(out, get(env, in0, node))); // run by the Conv before it
          break;
        }
        addStep((env) => {
          const x = get(env, in0, node);
          env.set(out, { t: tf.relu(x.t), nhwc: x.nhwc });
        });
        break;
      case 'LeakyRelu': {
        const alpha = float('alpha', 0.01);
        addStep((env) => {
          const x = get(env, in0, node);
          env.set(out, { t: tf.leakyRelu(x.t, alpha), nhwc: x.nhwc });
        });
        break;
      }
      case 'Sigmoid':
        addStep((env) => {
          const x = get(env, in0, node);
          env.set(out, { t: tf.sigmoid(x.t), nhwc: x.nhwc });
        });
        break;
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const fn = { Add: tf.add, Sub: tf.sub, Mul: tf.mul, Div: tf.div }[op];
        const c0 = statics.get(in0);
        const c1 = statics.get(in1);
        if (c0 && c1) throw new Error(`node ${node.name}: ${op} of two constants is not supported`);
        const cache = new Map<boolean, tf.Tensor>();
        const constOf = (c: OnnxTensor, nhwc: boolean) => {
          let t = cache.get(nhwc);
          if (!t) cache.set(nhwc, (t = operand(c, nhwc)));
          return t;
        };
        addStep((env) => {
          if (c0 || c1) {
            const x = get(env, c0 ? in1 : in0, node);
            const k = constOf((c0 ?? c1) as OnnxTensor, x.nhwc);
            env.set(out, { t: c0 ? fn(k, x.t) : fn(x.t, k), nhwc: x.nhwc });
          } else {
            const a = get(env, in0, node);
            const b = get(env, in1, node);
            if (a.nhwc !== b.nhwc) throw new Error(`node ${node.name}: ${op} of mixed layouts`);
            env.set(out, { t: fn(a.t, b.t), nhwc: a.nhwc });
          }
        });
        break;
      }
      case 'Flatten': {
        const axis = int('axis', 1);
        if (axis !== 1) throw new Error(`node ${node.name}: Flatten axis ${axis} (only 1 is supported)`);
        addStep((env) => env.set(out, { t: flattenNchw(get(env, in0, node)), nhwc: false }));
        break;
      }
      case 'Reshape': {
        const shape = Array.from(staticOf(in1, node).data);
        if (shape.length !== 2)
          throw new Error(`node ${node.name}: Reshape to rank ${shape.length} (only [N, K] is supported)`);
        addStep((env) => {
          const x = get(env, in0, node);
          const flat = flattenNchw(x);
          const k = shape[1] === 0 ? (flat.shape[1] as number) : (shape[1] as number);
          env.set(out, {
            t: k === -1 || k === flat.shape[1] ? flat : tf.reshape(flat, [-1, k]),
            nhwc: false,
          });
        });
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const w = staticOf(in1, node);
        if (w.dims.length !== 2) throw new Error(`node ${node.name}: ${op} weight of rank ${w.dims.length}`);
        if (op === 'Gemm' && int('transA', 0) !== 0) throw new Error(`node ${node.name}: Gemm with transA`);
        const transB = op === 'Gemm' && int('transB', 0) === 1;
        const alpha = op === 'Gemm' ? float('alpha', 1) : 1;
        const beta = op === 'Gemm' ? float('beta', 1) : 1;
        // Pre-transpose to [K, M] so the forward and its backward are plain 2-D matmuls.
        let wt = tf.tensor2d(Float32Array.from(w.data), w.dims as [number, number]);
        if (transB) wt = tf.tidy(() => tf.transpose(wt)).clone();
        if (alpha !== 1) wt = tf.tidy(() => tf.mul(wt, alpha));
        keep(wt);
        const c =
          op === 'Gemm' && in2
            ? keep(tf.mul(tf.tensor(Float32Array.from(staticOf(in2, node).data)), beta))
            : undefined;
        addStep((env) => {
          const x = get(env, in0, node);
          if (x.nhwc || x.t.rank !== 2) throw new Error(`node ${node.name}: ${op} expects a [N, K] input`);
          const y = tf.matMul(x.t as tf.Tensor2D, wt as tf.Tensor2D);
          env.set(out, { t: c ? tf.add(y, c) : y, nhwc: false });
        });
        break;
      }
      case 'GlobalAveragePool':
        addStep((env) => {
          const x = get(env, in0, node);
          env.set(out, { t: tf.mean(x.t, [1, 2], true), nhwc: true });
        });
        break;
      case 'AveragePool':
      case 'MaxPool': {
        const k = ints('kernel_shape') ?? [1, 1];
        const s = ints('strides') ?? [1, 1];
        const p = ints('pads') ?? [0, 0, 0, 0];
        addStep((env) => {
          const x = get(env, in0, node).t as tf.Tensor4D;
          const padded = p.some((v) => v !== 0)
            ? tf.pad(
                x,
                [
                  [0, 0],
                  [p[0] ?? 0, p[2] ?? 0],
                  [p[1] ?? 0, p[3] ?? 0],
                  [0, 0],
                ],
                op === 'MaxPool' ? -1e30 : 0,
              )
            : x;
          const pool = op === 'MaxPool' ? tf.maxPool : tf.avgPool;
          env.set(out, {
            t: pool(padded, k as [number, number], s as [number, number], 'valid'),
            nhwc: true,
          });
        });
        break;
      }
      default: {
        const never: never = op;
        throw new Error(`unsupported ONNX operator ${String(never)}`);
      }
    }
  }

  current = undefined;
  // step i is the last reader of the activations in lastReads[i] (the output is never released)
  const lastReader = new Map<string, number>();
  steps.forEach((s, i) => s.reads.forEach((n) => lastReader.set(n, i)));
  lastReader.delete(graphOutput.name);
  const lastReads = steps.map(() => [] as string[]);
  for (const [n, i] of lastReader) lastReads[i]!.push(n);

  const dim = graphOutput.shape[graphOutput.shape.length - 1] ?? -1;
  const { channelOrder, mean, std } = input;
  return {
    embeddingDim: dim,
    paramCount,
    run(x: tf.Tensor4D): tf.Tensor2D {
      const pre = tf.tidy(() => {
        const rgbOrBgr = channelOrder === 'bgr' ? tf.reverse(x, 3) : x;
        return tf.div(tf.sub(tf.mul(rgbOrBgr, 255), mean), std);
      });
      const env: Env = new Map([[graphInput.name, { t: pre, nhwc: true }]]);
      steps.forEach((step, i) => {
        // Each activation is released once its last reader has run, and a step's temporaries
        // (a conv's output before its bias) at its end, as PyTorch frees them: a caller's tidy
        // would hold every one to the end (the teacher's forward at batch 64 is ~2.4 GB of
        // them). A gradient tape keeps what a backward reads (its own references).
        tf.tidy(() => {
          step.run(env);
          return env.get(step.writes)?.t;
        });
        for (const name of lastReads[i]!) {
          const v = env.get(name);
          env.delete(name);
          if (v && ![...env.values()].some((o) => o.t === v.t)) v.t.dispose();
        }
      });
      const y = env.get(graphOutput.name);
      if (!y) throw new Error(`graph output ${graphOutput.name} was not computed`);
      return (y.nhwc ? flattenNchw(y) : y.t) as tf.Tensor2D;
    },
    dispose() {
      for (const t of owned) t.dispose();
      owned.length = 0;
    },
  };
}

/** NHWC activation -> [N, C·H·W] in ONNX's NCHW order (a transpose only when H·W > 1). */
function flattenNchw(v: Value): tf.Tensor2D {
  const n = v.t.shape[0] as number;
  if (!v.nhwc) return tf.reshape(v.t, [n, -1]);
  const [, h, w] = v.t.shape as number[];
  const t = h === 1 && w === 1 ? v.t : tf.transpose(v.t, [0, 3, 1, 2]);
  return tf.reshape(t, [n, -1]);
}

function convStep(
  node: OnnxNode,
  w: OnnxTensor,
  b: OnnxTensor | undefined,
  keep: <T extends tf.Tensor>(t: T) => T,
  get: (env: Env, name: string, node: OnnxNode) => Value,
  act?: Activation,
): Step {
  const attr = node.attrs;
  const [o = 0, ig = 0, kh = 0, kw = 0] = w.dims;
  const group = attr.get('group')?.i ?? 1;
  const strides = (attr.get('strides')?.ints ?? [1, 1]) as [number, number];
  const dil = attr.get('dilations')?.ints ?? [1, 1];
  if (dil.some((d) => d !== 1)) throw new Error(`node ${node.name}: dilated Conv is not supported`);
  let pads = attr.get('pads')?.ints ?? [0, 0, 0, 0];
  const autoPad = attr.get('auto_pad')?.s;
  if (autoPad && autoPad !== 'NOTSET' && autoPad !== 'VALID') {
    // SAME_UPPER / SAME_LOWER at stride 1 with odd kernels: symmetric (k−1)/2.
    pads = [(kh - 1) >> 1, (kw - 1) >> 1, kh >> 1, kw >> 1];
  }
  const [pt = 0, pl = 0, pb = 0, pr = 0] = pads;
  const depthwise = group > 1 && ig === 1 && group === o;
  if (group > 1 && !depthwise)
    throw new Error(`node ${node.name}: grouped Conv with group ${group} (only depthwise is supported)`);
  // ONNX [O, I/g, kh, kw] -> tfjs conv [kh, kw, I, O], depthwise [kh, kw, C, 1].
  const src = w.data;
  const inC = depthwise ? o : ig;
  const filt = new Float32Array(kh * kw * inC * (depthwise ? 1 : o));
  for (let oc = 0; oc < o; oc++)
    for (let ic = 0; ic < ig; ic++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) {
          const v = src[((oc * ig + ic) * kh + y) * kw + x] as number;
          if (depthwise) filt[(y * kw + x) * o + oc] = v;
          else filt[((y * kw + x) * ig + ic) * o + oc] = v;
        }
  const filter = keep(tf.tensor4d(filt, [kh, kw, inC, depthwise ? 1 : o]));
  const bias = b ? keep(tf.tensor1d(Float32Array.from(b.data))) : undefined;
  const padSpec: [number, number][] = [
    [0, 0],
    [pt, pb],
    [pl, pr],
    [0, 0],
  ];
  let dw: ((x: tf.Tensor4D) => tf.Tensor4D) | undefined;
  if (depthwise) dw = depthwiseWithInputGrad(filter, strides, padSpec, keep);
  const out = node.outputs[0] ?? '';
  return (env) => {
    const x = get(env, node.inputs[0] ?? '', node).t as tf.Tensor4D;
    const engine = tf.engine() as unknown as { state: { gradientDepth: number } };
    if ((act || bias) && engine.state.gradientDepth === 0) {
      // no gradient to record: the convolution, bias and activation as one fused op (kernels/fused-conv.ts)
      const args = {
        x,
        filter: filter as tf.Tensor4D,
        strides,
        pad: explicitPad(padSpec) as unknown as number, // both fused ops take explicit padding
        bias,
        activation: act?.kind ?? ('linear' as const),
        preluActivationWeights: act?.kind === 'prelu' ? act.alpha : undefined,
      };
      env.set(out, { t: dw ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args), nhwc: true });
      return;
    }
    let y: tf.Tensor4D;
    if (dw) y = dw(x);
    else y = tf.conv2d(x, filter as tf.Tensor4D, strides, explicitPad(padSpec));
    let t: tf.Tensor = bias ? tf.add(y, bias) : y;
    if (act) t = act.kind === 'prelu' ? tf.prelu(t, act.alpha) : tf.relu(t);
    env.set(out, { t, nhwc: true });
  };
}

/**
 * Depthwise conv with a frozen filter whose input gradient is itself a forward depthwise conv
 * (zero-upsampled dy ⋆ 180°-rotated filter): stock tfjs-wasm has no DepthwiseConv2dNativeBackpropInput.
 * When the backend registers that kernel, the plain op is used.
 */
export function depthwiseWithInputGrad(
  filter: tf.Tensor4D,
  strides: [number, number],
  padSpec: [number, number][],
  keep: <T extends tf.Tensor>(t: T) => T,
  forceCustom = false,
): (x: tf.Tensor4D) => tf.Tensor4D {
  const padded = padSpec.some(([a, b]) => a || b);
  const plain = (x: tf.Tensor4D) => tf.depthwiseConv2d(x, filter, strides, explicitPad(padSpec));
  if (!forceCustom && tf.getKernel('DepthwiseConv2dNativeBackpropInput', tf.getBackend())) return plain;
  const [kh, kw] = filter.shape;
  const rotated = keep(tf.tidy(() => tf.reverse(filter, [0, 1])));
  const [sh, sw] = strides;
  const [[,], [pt, pb], [pl, pr]] = padSpec as [[number, number], [number, number], [number, number]];
  const f = (x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    const y = plain(x as tf.Tensor4D);
    const [n, h, w, c] = x.shape as [number, number, number, number];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor) => {
        const [, ho, wo] = dy.shape as [number, number, number, number];
        const hp = h + pt + pb;
        const wp = w + pl + pr;
        const up = upsampleZeros(dy as tf.Tensor4D, sh, sw);
        const extraH = hp - ((ho - 1) * sh + kh);
        const extraW = wp - ((wo - 1) * sw + kw);
        const full = tf.pad(up, [
          [0, 0],
          [kh - 1, kh - 1 + extraH],
          [kw - 1, kw - 1 + extraW],
          [0, 0],
        ]);
        const dxp = tf.depthwiseConv2d(full, rotated, 1, 'valid');
        return padded ? tf.slice(dxp, [0, pt, pl, 0], [n, h, w, c]) : dxp;
      },
    };
  };
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    x: tf.Tensor4D,
  ) => tf.Tensor4D;
}

/**
 * ONNX pads as the convolution's own explicit padding: the kernels pad implicitly, where a
 * tf.pad before a 'valid' convolution copied the activation forward and sliced its gradient back
 * (a Slice per padded layer was 8 % of an IRM step).
 */
function explicitPad(padSpec: [number, number][]): tf.backend_util.ExplicitPadding {
  const [, h = [0, 0], w = [0, 0]] = padSpec;
  return [[0, 0], h, w, [0, 0]];
}

/** dy [N,H,W,C] -> [N,(H−1)s+1,(W−1)s+1,C] with s−1 zeros between entries (rank-4 reshapes only). */
function upsampleZeros(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  let t: tf.Tensor = tf.reshape(dy, [n * h, w, 1, c]);
  t = tf.pad(t, [
    [0, 0],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  t = tf.reshape(t, [n, h, 1, w * sw * c]);
  t = tf.pad(t, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
  ]);
  t = tf.reshape(t, [n, h * sh, w * sw, c]);
  return tf.slice(t, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tf.Tensor4D;
}
