import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { depthwiseWithInputGrad } from '../../src/models/onnx/import.js';
import { createRng } from '../../src/core/rng.js';

// The importer's depthwise conv carries its own input gradient (stock wasm lacks the kernel);
// it must equal tfjs-cpu's native DepthwiseConv2dNativeBackpropInput.
describe('depthwise conv input gradient', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'cpu' });
  });
  const rng = createRng(3);
  const rand = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
      shape,
    );
  for (const [stride, pads, size, k] of [
    [1, [1, 1, 1, 1], 7, 3],
    [2, [1, 1, 1, 1], 8, 3],
    [2, [1, 1, 1, 1], 7, 3],
    [1, [0, 0, 0, 0], 7, 7],
    [2, [0, 1, 0, 1], 9, 3],
  ] as const) {
    it(`matches the native gradient: stride ${stride}, pads ${pads.join(',')}, ${size}px, k${k}`, () => {
      const x = rand([2, size, size, 4]) as tf.Tensor4D;
      const filter = rand([k, k, 4, 1]) as tf.Tensor4D;
      const w = rand([1]);
      const padSpec: [number, number][] = [
        [0, 0],
        [pads[0], pads[2]],
        [pads[1], pads[3]],
        [0, 0],
      ];
      const owned: tf.Tensor[] = [];
      const keep = <T extends tf.Tensor>(t: T) => (owned.push(t), t);
      const custom = depthwiseWithInputGrad(filter, [stride, stride], padSpec, keep, true);
      const plain = depthwiseWithInputGrad(filter, [stride, stride], padSpec, keep, false);
      const loss = (f: (x: tf.Tensor4D) => tf.Tensor4D) => (v: tf.Tensor) =>
        tf.sum(tf.mul(tf.square(f(v as tf.Tensor4D)), w));
      const yc = custom(x).arraySync();
      const yp = plain(x).arraySync();
      expect(yc).toEqual(yp);
      const gc = tf.grad(loss(custom))(x).dataSync();
      const gp = tf.grad(loss(plain))(x).dataSync();
      let maxErr = 0;
      let maxAbs = 0;
      for (let i = 0; i < gp.length; i++) {
        maxErr = Math.max(maxErr, Math.abs((gc[i] as number) - (gp[i] as number)));
        maxAbs = Math.max(maxAbs, Math.abs(gp[i] as number));
      }
      expect(maxAbs).toBeGreaterThan(0.1);
      expect(maxErr).toBeLessThan(1e-4 * maxAbs);
      owned.forEach((t) => t.dispose());
    });
  }
});
