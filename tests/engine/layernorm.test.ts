import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, tf, randn, rngFor, maxRelErr } from './harness.js';
import { layerNormFused } from '../../src/engine/kernels/index.js';

/** LayerNorm written out with tfjs ops: the reference for the fused kernel and its gradient. */
function composed(x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.div(xc, tf.sqrt(tf.add(variance, eps))), g), b);
}

describe.each(['wasm', 'cpu'])('fused LayerNorm on %s', (backend) => {
  beforeAll(async () => {
    await setupEngine('auto');
    tf.setBackend(backend);
  });

  it('matches the composed LayerNorm forward and its gradients for x, gain and bias', () => {
    const rng = rngFor(`ln-${backend}`);
    const shape = [3, 7, 24];
    const [xs, gs, bs, ws] = [shape, [24], [24], shape].map((s) => randn(rng, s));
    const run = (f: typeof composed) =>
      tf.tidy(() => {
        const x = tf.tensor(xs!.data, shape);
        // a shifted, scaled input: the variance is not 1 and the mean not 0
        const xin = tf.add(tf.mul(x, 3), 0.5);
        const g = tf.tensor1d(gs!.data);
        const b = tf.tensor1d(bs!.data);
        const w = tf.tensor(ws!.data, shape);
        const y = f(xin, g, b, 1e-6);
        const grads = tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(f(a, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-6), w)),
        )([xin, g, b]);
        return [y, ...grads].map((t) => t.dataSync() as Float32Array);
      });
    const before = tf.memory().numTensors;
    const fused = run(layerNormFused);
    expect(tf.memory().numTensors).toBe(before);
    const ref = run(composed);
    for (const [i, name] of ['y', 'dx', 'dgamma', 'dbeta'].entries()) {
      expect(maxRelErr(fused[i]!, ref[i]!), name).toBeLessThan(1e-4);
    }
  });

  it('refuses a gain of the wrong length, naming both shapes', () => {
    const x = tf.zeros([2, 5]);
    const g = tf.ones([4]) as tf.Tensor1D;
    expect(() => layerNormFused(x, g, g, 1e-6)).toThrow(/expected a \[5\] vector, got \[4\]/);
    tf.dispose([x, g]);
  });
});
