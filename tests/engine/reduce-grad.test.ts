import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, tf, randn, rngFor } from './harness.js';

/**
 * The Sum and Mean gradients (src/engine/kernels/reduce-grad.ts) are a broadcast of dy, or of
 * dy / n. The expected values are written out here element by element: d/dx of sum(reduce(x)·w).
 */
describe.each(['wasm', 'cpu'])('Sum and Mean gradients on %s', (backend) => {
  beforeAll(async () => {
    await setupEngine('auto');
    tf.setBackend(backend);
  });

  const shape = [3, 4, 5];
  const cases: { axis: number | number[]; keepDims: boolean }[] = [
    { axis: -1, keepDims: false },
    { axis: 1, keepDims: true },
    { axis: [0, 2], keepDims: false },
    { axis: [0, 1, 2], keepDims: false },
  ];

  for (const op of ['sum', 'mean'] as const) {
    for (const { axis, keepDims } of cases) {
      it(`${op} over axis ${JSON.stringify(axis)}${keepDims ? ', keepDims' : ''}: dx = w${op === 'mean' ? ' / n' : ''} broadcast`, () => {
        const rng = rngFor(`reduce-grad-${backend}-${op}-${String(axis)}`);
        const xs = randn(rng, shape);
        const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a + 3) % 3);
        const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const ws = randn(rng, outShape);
        const n = axes.reduce((p, a) => p * shape[a]!, 1);
        const before = tf.memory().numTensors;
        const dx = tf.tidy(() => {
          const w = tf.tensor(ws.data, keepDims ? outShape : outShape.filter((_, i) => !axes.includes(i)));
          const f = (x: tf.Tensor) => tf.sum(tf.mul(tf[op](x, axis, keepDims), w));
          return tf.grad(f)(tf.tensor(xs.data, shape)).dataSync() as Float32Array;
        });
        expect(tf.memory().numTensors).toBe(before);
        const want = new Float32Array(xs.data.length);
        for (let i = 0; i < shape[0]!; i++)
          for (let j = 0; j < shape[1]!; j++)
            for (let k = 0; k < shape[2]!; k++) {
              const idx = [i, j, k].map((v, d) => (axes.includes(d) ? 0 : v));
              const wv = ws.data[(idx[0]! * outShape[1]! + idx[1]!) * outShape[2]! + idx[2]!]!;
              want[(i * shape[1]! + j) * shape[2]! + k] = op === 'mean' ? Math.fround(wv / n) : wv;
            }
        expect(Array.from(dx)).toEqual(Array.from(want));
      });
    }
  }
});
