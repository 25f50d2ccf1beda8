import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, tf, randn, rngFor, maxRelErr } from './harness.js';
import { geluFused } from '../../src/engine/kernels/index.js';

/** The tanh-approximation GELU written out with tfjs ops (what src/models/vit used before). */
function composed(x: tf.Tensor): tf.Tensor {
  const c = 2 * Math.sqrt(2 / Math.PI);
  const x3 = tf.mul(tf.mul(x, x), x);
  return tf.mul(x, tf.sigmoid(tf.mul(tf.add(x, tf.mul(x3, 0.044715)), c)));
}

describe.each(['wasm', 'cpu'])('fused GELU on %s', (backend) => {
  beforeAll(async () => {
    await setupEngine('auto');
    tf.setBackend(backend);
  });

  it('matches the composed GELU and its gradient, and keeps only its input for the backward pass', () => {
    const rng = rngFor(`gelu-${backend}`);
    const shape = [4, 9, 33];
    const xs = randn(rng, shape);
    const ws = randn(rng, shape);
    const run = (f: (x: tf.Tensor) => tf.Tensor) =>
      tf.tidy(() => {
        const x = tf.mul(tf.tensor(xs.data, shape), 2.5); // out to where the cubic term matters
        const w = tf.tensor(ws.data, shape);
        const y = f(x);
        const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(f(a), w)))([x]);
        return [y, dx!].map((t) => t.dataSync() as Float32Array);
      });
    const before = tf.memory().numTensors;
    const fused = run(geluFused);
    expect(tf.memory().numTensors).toBe(before);
    const ref = run(composed);
    expect(maxRelErr(fused[0]!, ref[0]!)).toBeLessThan(1e-4);
    expect(maxRelErr(fused[1]!, ref[1]!)).toBeLessThan(1e-4);
    // what the tape holds between forward and backward: one tensor (x) against several
    const held = (f: (x: tf.Tensor) => tf.Tensor) => {
      const x = tf.variable(tf.tensor(xs.data, shape));
      let during = 0;
      const { value, grads } = tf.variableGrads(() => {
        const start = tf.memory().numTensors;
        const y = tf.sum(f(x));
        during = tf.memory().numTensors - start;
        return y as tf.Scalar;
      });
      tf.dispose([value, ...Object.values(grads), x]);
      return during;
    };
    expect(held(geluFused)).toBeLessThan(held(composed));
  });
});
