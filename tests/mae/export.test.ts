import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { createMae } from '../../src/models/mae/mae.js';
import { maskingFromNoise, type Masking } from '../../src/models/mae/masking.js';
import { exportMaeOnnx } from '../../src/export/onnx-mae.js';
import { quantizeInt8 } from '../../src/core/quantize.js';
import { randomImages, TINY_TEST } from './helpers.js';

/** Runs a keep-input export on images x [n,32,32,3] with the masking m built from `noise`. */
function runWithKeep(
  session: ort.InferenceSession,
  x: tf.Tensor4D,
  noise: Float32Array,
  m: Masking,
  pasteBack = 1,
) {
  return session.run({
    image: new ort.Tensor('float32', x.dataSync() as Float32Array, [m.n, 32, 32, 3]),
    noise: new ort.Tensor('float32', noise, [m.n, m.numPatches]),
    keep: new ort.Tensor('int64', BigInt64Array.from([BigInt(m.lenKeep)]), [1]),
    paste_back: new ort.Tensor('float32', Float32Array.from([pasteBack]), [1]),
  });
}

beforeAll(async () => {
  await initEngine();
});

describe('ONNX export', () => {
  it('matches the tfjs reconstruction, prediction and mask within 1e-4 (dynamic batch)', async () => {
    const rng = createRng(21);
    const mae = createMae(TINY_TEST, rng.fork('init'));
    // perturb the zero-initialised biases/tokens so every parameter matters
    for (const v of Object.values(mae.variables))
      v.assign(tf.tidy(() => tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 7), 0.05))));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-onnx-')), 'mae.onnx');
    await exportMaeOnnx(mae, 0.75, file);
    const session = await ort.InferenceSession.create(file);
    for (const n of [1, 3]) {
      const x = randomImages(n, 32, rng);
      const noise = rng.uniformArray(n * 16);
      const m = maskingFromNoise(noise, n, 16, 0.75);
      const f = mae.forward(x, m);
      const rec = mae.pasteBack(x, f);
      const out = await session.run({
        image: new ort.Tensor('float32', x.dataSync() as Float32Array, [n, 32, 32, 3]),
        noise: new ort.Tensor('float32', noise, [n, 16]),
      });
      const maxDiff = (a: Float32Array, b: ArrayLike<number>) =>
        a.reduce((mx, v, i) => Math.max(mx, Math.abs(v - (b[i] as number))), 0);
      expect(out.reconstruction!.dims).toEqual([n, 32, 32, 3]);
      expect(maxDiff(out.mask!.data as Float32Array, m.mask)).toBe(0);
      expect(maxDiff(out.pred!.data as Float32Array, f.pred.dataSync())).toBeLessThan(1e-4);
      expect(maxDiff(out.reconstruction!.data as Float32Array, rec.dataSync())).toBeLessThan(1e-4);
      tf.dispose([x, f.pred, f.target, f.mask, rec]);
    }
    await session.release();
    mae.dispose();
  });

  it('with keepInput masks at any ratio and releases with any paste-back from one file (keep = lenKeepFor(L, ratio))', async () => {
    const rng = createRng(22);
    const mae = createMae(TINY_TEST, rng.fork('init'));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-onnx-')), 'mae.onnx');
    await exportMaeOnnx(mae, 0.75, file, { keepInput: true });
    const session = await ort.InferenceSession.create(file);
    expect(session.inputNames).toEqual(['image', 'noise', 'keep', 'paste_back']);
    const x = randomImages(2, 32, rng);
    const noise = rng.uniformArray(2 * 16);
    for (const [ratio, pasteBack] of [
      [0.5, 1],
      [0.75, 1],
      [0.9, 1],
      [0.75, 0],
      [0.75, 0.5],
    ] as const) {
      const m = maskingFromNoise(noise, 2, 16, ratio);
      const rec = mae.reconstruct(x, m, pasteBack);
      const out = await runWithKeep(session, x, noise, m, pasteBack);
      const got = out.reconstruction!.data as Float32Array;
      const want = rec.dataSync();
      expect(Array.from(out.mask!.data as Float32Array)).toEqual(Array.from(m.mask));
      expect(got.reduce((mx, v, i) => Math.max(mx, Math.abs(v - (want[i] as number))), 0)).toBeLessThan(1e-4);
      rec.dispose();
    }
    x.dispose();
    await session.release();
    mae.dispose();
  });

  it('int8: under half the size, same outputs when the weights are already int8 (as the shipped model)', async () => {
    const rng = createRng(23);
    const mae = createMae(TINY_TEST, rng.fork('init'));
    for (const v of Object.values(mae.variables)) {
      const { q, scales } = quantizeInt8(v.dataSync() as Float32Array, v.shape);
      v.assign(
        tf.tensor(
          Float32Array.from(q, (x, i) => x * (scales[i % scales.length] as number)),
          v.shape,
        ),
      );
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-onnx-'));
    const f32 = await exportMaeOnnx(mae, 0.75, path.join(dir, 'f32.onnx'), { keepInput: true });
    const i8 = await exportMaeOnnx(mae, 0.75, path.join(dir, 'i8.onnx'), { keepInput: true, int8: true });
    expect(i8.bytes).toBeLessThan(f32.bytes * 0.5); // graph overhead dominates this tiny model; the shipped one is ~1/4
    const session = await ort.InferenceSession.create(i8.file);
    const x = randomImages(2, 32, rng);
    const noise = rng.uniformArray(2 * 16);
    const m = maskingFromNoise(noise, 2, 16, 0.5);
    const rec = mae.reconstruct(x, m);
    const out = await runWithKeep(session, x, noise, m);
    const got = out.reconstruction!.data as Float32Array;
    const want = rec.dataSync();
    expect(got.reduce((mx, v, i) => Math.max(mx, Math.abs(v - (want[i] as number))), 0)).toBeLessThan(1e-4);
    tf.dispose([x, rec]);
    await session.release();
    mae.dispose();
  });
});
