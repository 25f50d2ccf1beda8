import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { initEngine, tf } from '../../src/engine/backend.js';
import { getModelType, parseOnnxModel } from '../../src/models/onnx/onnx-proto.js';
import { importOnnxGraph } from '../../src/models/onnx/import.js';
import { createRng } from '../../src/core/rng.js';
import { createEmbedder } from '../../src/loaders/embedders.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// A small ONNX model written here with the ops of insightface's IResNet exports that
// fr_feature.onnx does not use (BatchNormalization on 4-D and 2-D, Relu, Flatten of a 4×4 map,
// Gemm transB, MatMul, GlobalAveragePool, per-channel Mul constant, PRelu [C,1,1], grouped conv);
// onnxruntime is the reference.
const rng = createRng(11);
const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);
const init = (name: string, dims: number[], data: Float32Array) => ({
  name,
  dims,
  data_type: 1,
  raw_data: new Uint8Array(data.buffer),
});
const attrInts = (name: string, ints: number[]) => ({ name, type: 7, ints });
const attrInt = (name: string, i: number) => ({ name, type: 2, i });
const vi = (name: string, dims: number[]) => ({
  name,
  type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
});

function buildModel(dynamicBatch = false): Uint8Array {
  const C = 4;
  const node = (op_type: string, input: string[], output: string[], attribute: object[] = []) => ({
    op_type,
    input,
    output,
    attribute,
    name: output[0],
  });
  const graph = {
    name: 'g',
    input: [
      dynamicBatch
        ? {
            name: 'input',
            type: {
              tensor_type: {
                elem_type: 1,
                shape: { dim: [{ dim_param: 'N' }, { dim_value: 3 }, { dim_value: 8 }, { dim_value: 8 }] },
              },
            },
          }
        : vi('input', [1, 3, 8, 8]),
    ],
    output: [vi('output', [1, 5])],
    initializer: [
      init('scale_in', [1, 3, 1, 1], Float32Array.from([0.5, 1, 2])),
      init('w1', [C, 3, 3, 3], rand(C * 27, 0.3)),
      init('b1', [C], rand(C, 0.1)),
      init('bn_s', [C], Float32Array.from([1, 0.5, 2, 1.5])),
      init('bn_b', [C], rand(C, 0.1)),
      init('bn_m', [C], rand(C, 0.1)),
      init('bn_v', [C], Float32Array.from([1, 2, 0.5, 1.2])),
      init('wdw', [C, 1, 3, 3], rand(C * 9, 0.3)),
      init('slope', [C, 1, 1], Float32Array.from([0.1, 0.2, 0.3, 0.25])),
      init('wg', [5, C * 16], rand(5 * C * 16, 0.1)),
      init('cg', [5], rand(5, 0.1)),
      init('wm', [C, 5], rand(C * 5, 0.3)),
      init('f_s', [5], Float32Array.from([1, 1, 1, 1, 1])),
      init('f_b', [5], rand(5, 0.1)),
      init('f_m', [5], rand(5, 0.1)),
      init('f_v', [5], Float32Array.from([1, 2, 3, 4, 5])),
    ],
    node: [
      node('Mul', ['input', 'scale_in'], ['a']),
      node(
        'Conv',
        ['a', 'w1', 'b1'],
        ['b'],
        [
          attrInts('kernel_shape', [3, 3]),
          attrInts('pads', [1, 1, 1, 1]),
          attrInts('strides', [2, 2]),
          attrInt('group', 1),
        ],
      ),
      node(
        'BatchNormalization',
        ['b', 'bn_s', 'bn_b', 'bn_m', 'bn_v'],
        ['c'],
        [{ name: 'epsilon', type: 1, f: 1e-5 }],
      ),
      node('Relu', ['c'], ['d']),
      node(
        'Conv',
        ['d', 'wdw'],
        ['e'],
        [
          attrInts('kernel_shape', [3, 3]),
          attrInts('pads', [1, 1, 1, 1]),
          attrInts('strides', [1, 1]),
          attrInt('group', C),
        ],
      ),
      node('PRelu', ['e', 'slope'], ['f']),
      node('Add', ['f', 'd'], ['g']),
      node('Flatten', ['g'], ['gf'], [attrInt('axis', 1)]),
      node('Gemm', ['gf', 'wg', 'cg'], ['i'], [attrInt('transB', 1)]),
      node('GlobalAveragePool', ['g'], ['h']),
      node('Flatten', ['h'], ['hf'], [attrInt('axis', 1)]),
      node('MatMul', ['hf', 'wm'], ['j']),
      node('Add', ['i', 'j'], ['k']),
      node('BatchNormalization', ['k', 'f_s', 'f_b', 'f_m', 'f_v'], ['output']),
    ],
  };
  const T = getModelType();
  const msg = T.fromObject({
    ir_version: 7,
    opset_import: [{ domain: '', version: 13 }],
    producer_name: 'facemae-test',
    graph,
  });
  return T.encode(msg).finish();
}

describe('ONNX importer ops (vs onnxruntime)', () => {
  beforeAll(async () => {
    await initEngine();
  });

  it('matches onnxruntime on a model with BN, Relu, Flatten, Gemm, MatMul, GAP, grouped conv', async () => {
    const bytes = buildModel();
    const session = await ort.InferenceSession.create(bytes);
    // Our input convention: pixel' = (255·x − mean)/std with mean 0, std 255 gives x itself, RGB.
    const g = importOnnxGraph(parseOnnxModel(bytes), {
      channelOrder: 'rgb',
      mean: 0,
      std: 255,
      inputSize: 8,
    });
    const nhwc = rand(8 * 8 * 3);
    const nchw = new Float32Array(3 * 64);
    for (let p = 0; p < 64; p++) for (let c = 0; c < 3; c++) nchw[c * 64 + p] = nhwc[p * 3 + c] as number;
    const ref = (await session.run({ input: new ort.Tensor('float32', nchw, [1, 3, 8, 8]) })).output!
      .data as Float32Array;
    const x = tf.tensor4d(nhwc, [1, 8, 8, 3]);
    const y = tf.tidy(() => g.run(x));
    const got = y.dataSync();
    expect(y.shape).toEqual([1, 5]);
    for (let k = 0; k < 5; k++) expect(got[k]).toBeCloseTo(ref[k] as number, 4);
    tf.dispose([x, y]);
    g.dispose();
    await session.release();
  });

  it('keeps no activation past its last reader (inside a tidy too), and differentiates to its input', () => {
    const g = importOnnxGraph(parseOnnxModel(buildModel()), {
      channelOrder: 'bgr',
      mean: 0,
      std: 255,
      inputSize: 8,
    });
    const x = tf.tensor4d(rand(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    tf.dispose(tf.tidy(() => g.run(x))); // the first run makes the lazily built constants
    const before = tf.memory().numTensors;
    let during = 0;
    const y = tf.tidy(() => {
      const out = g.run(x);
      during = tf.memory().numTensors - before;
      return out;
    });
    // only the output: every activation (d and g have two readers each) was released on the way
    expect(during).toBe(1);
    // the gradient (the tape keeps what its backward reads) against a central difference
    const w = tf.tensor2d(rand(2 * 5), [2, 5]);
    const f = (a: tf.Tensor) => tf.sum(tf.mul(g.run(a as tf.Tensor4D), w));
    const dx = tf.grad(f)(x);
    const v = tf.tensor4d(rand(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    const eps = 1e-2;
    const fd = tf.tidy(
      () =>
        (f(tf.add(x, tf.mul(v, eps))).dataSync()[0]! - f(tf.sub(x, tf.mul(v, eps))).dataSync()[0]!) /
        (2 * eps),
    );
    const dir = tf.tidy(() => tf.sum(tf.mul(dx, v)).dataSync()[0]!);
    expect(Math.abs(dir - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    tf.dispose([x, y, w, dx, v]);
    g.dispose();
  });

  it('a dynamic-batch ONNX file: onnxruntime (batched, sidecar input spec) and the tfjs import agree', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fr-onnx-ops-'));
    const file = path.join(dir, 'tiny.onnx');
    fs.writeFileSync(file, buildModel(true));
    fs.writeFileSync(
      path.join(dir, 'tiny.onnx.json'),
      JSON.stringify({ channelOrder: 'bgr', mean: 127.5, std: 64 }),
    );
    const a = await createEmbedder(file);
    const b = await createEmbedder(`tfjs:${file}`);
    expect(a.inputSize).toBe(8);
    const px = Uint8Array.from({ length: 3 * 8 * 8 * 3 }, () => Math.floor(rng.next() * 256));
    const ea = await a.embed(px, 3);
    const eb = await b.embed(px, 3);
    expect(ea.length).toBe(15);
    for (let k = 0; k < 15; k++) expect(eb[k]).toBeCloseTo(ea[k] as number, 3);
    // Batched output equals one-at-a-time output.
    const one = await a.embed(px.subarray(8 * 8 * 3, 2 * 8 * 8 * 3), 1);
    for (let k = 0; k < 5; k++) expect(one[k]).toBeCloseTo(ea[5 + k] as number, 5);
    await a.dispose();
    await b.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
