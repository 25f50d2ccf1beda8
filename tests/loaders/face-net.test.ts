import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { loadFaceNet, resolveOnnxSpec } from '../../src/loaders/face-net.js';
import { createEmbedder } from '../../src/loaders/embedders.js';
import { packImages } from '../../src/eval/embed.js';
import { listImageFolder, readImage } from '../../src/data/image-folder.js';
import { parseOnnxModel } from '../../src/models/onnx/onnx-proto.js';
import { unsupportedOps } from '../../src/models/onnx/import.js';
import { FACEPLUGIN_MODEL } from '../../src/loaders/face-net.js';
import { enableKernelProfile, kernelProfile, resetKernelProfile } from '../../src/engine/profile.js';
import type { RgbImage } from '../../src/types.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('loadFaceNet: ONNX imported into tfjs', () => {
  let faces: RgbImage[] = [];
  beforeAll(async () => {
    await initEngine();
    const { records } = await listImageFolder(path.join(root, 'assets/sample/deploy'));
    faces = await Promise.all(records.filter((_, i) => i % 12 === 0).map((r) => readImage(r.path)));
  });

  it('gives the same embeddings as onnxruntime on real faces (cosine > 0.9999)', async () => {
    expect(faces.length).toBeGreaterThanOrEqual(6);
    const ort = await createEmbedder('faceplugin');
    const net = await loadFaceNet('faceplugin');
    expect(net.embeddingDim).toBe(512);
    expect(net.trainableVariables()).toEqual([]);
    const pixels = packImages(faces, 112);
    const ref = await ort.embed(pixels, faces.length);
    const x = tf.tensor4d(
      Float32Array.from(pixels, (v) => v / 255),
      [faces.length, 112, 112, 3],
    );
    const y = net.apply(x);
    const got = y.dataSync();
    for (let i = 0; i < faces.length; i++) {
      let dot = 0,
        na = 0,
        nb = 0;
      for (let k = 0; k < 512; k++) {
        const a = ref[i * 512 + k] as number;
        const b = got[i * 512 + k] as number;
        dot += a * b;
        na += a * a;
        nb += b * b;
      }
      expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.9999);
    }
    // Different people are far apart: the embeddings are not degenerate.
    let cross = 0;
    for (let k = 0; k < 512; k++) cross += (got[k] as number) * (got[512 + k] as number);
    expect(Math.abs(cross) / 512).toBeLessThan(0.9);
    tf.dispose([x, y]);
    net.dispose();
    await ort.dispose();
  });

  it('is differentiable with respect to its input only (the IRM teacher) and leaks nothing', async () => {
    const net = await loadFaceNet('faceplugin');
    const x = tf.tensor4d(
      Float32Array.from(packImages(faces.slice(0, 2), 112), (v) => v / 255),
      [2, 112, 112, 3],
    );
    net.apply(x).dispose(); // constants created lazily on the first call (elementwise operands) are owned by the net
    const before = tf.memory().numTensors;
    enableKernelProfile('wasm');
    resetKernelProfile();
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.square(net.apply(v as tf.Tensor4D))))(x);
    const calls = new Map(kernelProfile().map((k) => [k.name, k.calls]));
    resetKernelProfile();
    // the input gradient runs through every convolution, the frozen weights get none, and the
    // padding is the convolutions' own (no Pad forward, no Slice of its gradient)
    expect(calls.get('Conv2DBackpropInput') ?? 0).toBeGreaterThan(0);
    expect(calls.get('DepthwiseConv2dNativeBackpropInput') ?? 0).toBeGreaterThan(0);
    for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'PadV2', 'Slice'])
      expect(calls.get(k) ?? 0, k).toBe(0);
    expect(g.shape).toEqual([2, 112, 112, 3]);
    const m = tf.tidy(() => tf.max(tf.abs(g)));
    expect(m.dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([g, m]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    const n0 = tf.memory().numTensors;
    net.dispose();
    expect(tf.memory().numTensors).toBeLessThan(n0);
    expect(() => net.apply(x)).toThrow(/disposed/);
  });

  it('reads fr_feature.onnx: opset, ops, input/output shapes', () => {
    const g = parseOnnxModel(fs.readFileSync(FACEPLUGIN_MODEL));
    expect(g.inputs[0]?.shape).toEqual([1, 3, 112, 112]);
    expect(g.outputs[0]?.shape).toEqual([1, 512]);
    expect(new Set(g.nodes.map((n) => n.opType))).toEqual(new Set(['Conv', 'PRelu', 'Add', 'Reshape']));
    expect(unsupportedOps(g)).toEqual([]);
  });

  it('errors name the file: missing, not ONNX, bad sidecar; unsupported ops are listed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fr-onnx-'));
    await expect(loadFaceNet(path.join(dir, 'nope.onnx'))).rejects.toThrow(
      /model file not found: .*nope\.onnx/,
    );
    const junk = path.join(dir, 'junk.onnx');
    fs.writeFileSync(junk, 'not a model');
    await expect(loadFaceNet(junk)).rejects.toThrow(/cannot read ONNX model .*junk\.onnx/);
    fs.writeFileSync(path.join(dir, 'junk.onnx.json'), '{"channelOrder":"xyz"}');
    expect(() => resolveOnnxSpec(junk)).toThrow(
      /junk\.onnx\.json: channelOrder must be "rgb" or "bgr", got "xyz"/,
    );
    fs.writeFileSync(path.join(dir, 'junk.onnx.json'), '{"channelOrder":"bgr","mean":127,"std":128}');
    expect(resolveOnnxSpec(junk).input).toMatchObject({ channelOrder: 'bgr', mean: 127, std: 128 });
    await expect(loadFaceNet(dir)).rejects.toThrow(/holds no checkpoint/);
    const g = parseOnnxModel(fs.readFileSync(FACEPLUGIN_MODEL));
    g.nodes[1]!.opType = 'Einsum';
    expect(unsupportedOps(g)).toEqual(['Einsum']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
