import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { arcFace, combinedMargin, cosFace, checkMargin } from '../../src/losses/margin.js';
import { crossEntropy, oneHotMatrix } from '../../src/losses/cross-entropy.js';

// Expected logits computed independently with CPython's math module, e.g.
//   python3 -c "import math; print(64*math.cos(math.acos(0.8)+0.5))"            -> 26.522286486385696 (ArcFace)
//   python3 -c "import math; print(64*(-0.9-math.sin(math.pi-0.5)*0.5))"       -> -72.9416172353345 (θ+m > π fallback)
//   python3 -c "import math; print(64*(math.cos(1.2*math.acos(0.6)+0.3)-0.1))" -> 3.6726384521523183 (combined)
//   python3 -c "import math; print(64*(math.cos(0.5)+0.8/math.sqrt(1-0.64)*math.sin(0.5)))" -> 97.07626325520918 (d/dcos)
describe('combined margin (insightface CombinedMarginLoss)', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  const run = (cos: number[][], labels: number[], f: (c: tf.Tensor2D, l: Int32Array) => tf.Tensor2D) => {
    const c = tf.tensor2d(cos);
    const y = f(c, Int32Array.from(labels));
    const out = y.arraySync();
    tf.dispose([c, y]);
    return out;
  };

  it('ArcFace moves only the target logit by the angular margin, scaled by s', () => {
    const out = run(
      [
        [0.8, 0.1, -0.2],
        [0.3, 0.5, 0.3],
      ],
      [0, 2],
      (c, l) => arcFace(c, l),
    );
    expect(out[0]?.[0]).toBeCloseTo(26.522286486385696, 3);
    expect(out[0]?.[1]).toBeCloseTo(6.4, 4);
    expect(out[0]?.[2]).toBeCloseTo(-12.8, 4);
    expect(out[1]?.[2]).toBeCloseTo(-12.420354999543727, 3);
    expect(out[1]?.[0]).toBeCloseTo(19.2, 4);
  });

  it('uses the insightface fallback cos θ − sin(π−m)·m when θ + m > π, and keeps θ = 0 finite', () => {
    const out = run(
      [
        [-0.9, 0],
        [1, 0],
      ],
      [0, 0],
      (c, l) => arcFace(c, l),
    );
    expect(out[0]?.[0]).toBeCloseTo(-72.9416172353345, 3);
    expect(out[1]?.[0]).toBeCloseTo(64 * Math.cos(0.5), 3);
  });

  it('CosFace subtracts m3; SphereFace-style m1 multiplies the angle; combined (m1, m2, m3)', () => {
    expect(run([[0.8, 0.2]], [0], (c, l) => cosFace(c, l))[0]?.[0]).toBeCloseTo(28.8, 4);
    expect(
      run([[0.8, 0.2]], [0], (c, l) => combinedMargin(c, l, { s: 64, m1: 2, m2: 0, m3: 0 }))[0]?.[0],
    ).toBeCloseTo(17.92, 3);
    expect(
      run([[0.6, 0.2]], [0], (c, l) => combinedMargin(c, l, { s: 64, m1: 1.2, m2: 0.3, m3: 0.1 }))[0]?.[0],
    ).toBeCloseTo(3.6726384521523183, 3);
  });

  it('easy margin leaves negative cosines unchanged; label −1 rows are untouched', () => {
    const out = run(
      [
        [-0.3, 0.1],
        [0.5, 0.2],
      ],
      [0, -1],
      (c, l) => combinedMargin(c, l, { s: 64, m1: 1, m2: 0.5, m3: 0, easyMargin: true }),
    );
    expect(out[0]?.[0]).toBeCloseTo(-19.2, 4);
    expect(out[1]).toEqual([expect.closeTo(32, 4), expect.closeTo(12.8, 4)]);
  });

  it('gradients exist on wasm, match the analytic derivative, and stay finite at cos = ±1', () => {
    const g = tf.grad((c: tf.Tensor) => tf.sum(arcFace(c as tf.Tensor2D, Int32Array.from([0]))))(
      tf.tensor2d([[0.8, 0.1]]),
    );
    const gv = g.arraySync() as number[][];
    expect(gv[0]?.[0]).toBeCloseTo(97.07626325520918, 2);
    expect(gv[0]?.[1]).toBeCloseTo(64, 4);
    const edge = tf.grad((c: tf.Tensor) => tf.sum(arcFace(c as tf.Tensor2D, Int32Array.from([0, 0]))))(
      tf.tensor2d([
        [1, 0],
        [-1, 0],
      ]),
    );
    expect((edge.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('cross-entropy equals −log softmax at the label (by hand), one-hot ignores −1', () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const ce = crossEntropy(logits, Int32Array.from([2, 1]));
    const l1 = -(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
    const l2 = Math.log(3);
    expect(ce.dataSync()[0]).toBeCloseTo((l1 + l2) / 2, 5);
    expect(oneHotMatrix(Int32Array.from([1, -1]), 3).arraySync()).toEqual([
      [0, 1, 0],
      [0, 0, 0],
    ]);
  });

  it('leaks no tensors', () => {
    const c = tf.tensor2d([
      [0.8, 0.1],
      [0.2, 0.4],
    ]);
    const before = tf.memory().numTensors;
    const y = arcFace(c, Int32Array.from([0, 1]));
    y.dispose();
    crossEntropy(c, Int32Array.from([0, 1])).dispose();
    expect(tf.memory().numTensors).toBe(before);
    c.dispose();
  });

  it('refuses bad margins and labels with the value in the message', () => {
    expect(() => checkMargin({ s: 0, m1: 1, m2: 0.5, m3: 0 })).toThrow(/scale s must be > 0, got 0/);
    expect(() => checkMargin({ s: 64, m1: 1, m2: 2, m3: 0 })).toThrow(/m2 must be in \[0, π\/2\), got 2/);
    const c = tf.tensor2d([[0.1, 0.2]]);
    expect(() => arcFace(c, Int32Array.from([5]))).toThrow(/label 5 is outside the 2 classes/);
    c.dispose();
  });
});
