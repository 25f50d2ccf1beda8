import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, tf, randn, rngFor } from './harness.js';
import { setGradientMemorySaver } from '../../src/engine/index.js';

/** A small conv/BN/PReLU/dense network: loss and variable gradients, plus the peak tensor bytes. */
async function run(on: boolean): Promise<{ grads: Float32Array[]; peak: number; loss: number }> {
  setGradientMemorySaver(on);
  const rng = rngFor('gm');
  const x = tf.tensor4d(randn(rng, [4, 12, 12, 3]).data, [4, 12, 12, 3]);
  // tidy disposes the initialisers (variables are not tracked by tidy)
  const vars = tf.tidy(() => [
    tf.variable(tf.tensor4d(randn(rng, [3, 3, 3, 8]).data, [3, 3, 3, 8])),
    tf.variable(tf.tensor1d(randn(rng, [8]).data)),
    tf.variable(tf.tensor1d(randn(rng, [8]).data)),
    tf.variable(tf.tensor4d(randn(rng, [3, 3, 8, 8]).data, [3, 3, 8, 8])),
    tf.variable(tf.tensor2d(randn(rng, [288, 5]).data, [288, 5])),
  ]);
  const [w1, a, g, w2, fc] = vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  let out: { grads: Float32Array[]; loss: number } = { grads: [], loss: 0 };
  const prof = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => {
      const h = tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same');
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      const b = tf.prelu(tf.batchNorm(h, mean, variance, a, g), a);
      const h2 = tf.conv2d(b as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'same');
      const y = tf.matMul(tf.reshape(tf.add(h2, tf.relu(h2)), [4, -1]), fc);
      return tf.mean(tf.square(tf.sub(tf.softmax(y), 0.2))) as tf.Scalar;
    }, vars);
    out = {
      grads: vars.map((v) => Float32Array.from(grads[v.name]!.dataSync())),
      loss: value.dataSync()[0]!,
    };
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose([x, ...vars]);
  return { ...out, peak: prof.peakBytes };
}

describe('gradient memory saver', () => {
  beforeAll(async () => {
    await setupEngine('auto');
  });

  it('gives the same gradients, leaks nothing, and lowers the peak', async () => {
    const before = tf.memory().numTensors;
    const off = await run(false);
    const on = await run(true);
    setGradientMemorySaver(true);
    expect(on.loss).toBe(off.loss);
    on.grads.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(off.grads[i]!)));
    expect(on.peak).toBeLessThan(off.peak);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves higher-order gradients working', () => {
    const x = tf.scalar(3);
    // d²/dx² x³ = 6x
    const g2 = tf.grad((y: tf.Tensor) => tf.grad((z: tf.Tensor) => tf.mul(tf.mul(z, z), z))(y))(x);
    expect(g2.dataSync()[0]).toBeCloseTo(18, 4);
    tf.dispose([x, g2]);
  });
});

describe('tape pruning (nodes with no input descending from the differentiated tensors)', () => {
  beforeAll(async () => {
    await setupEngine('auto');
  });

  /** A loss whose target is computed from a constant inside the gradient scope. */
  function step(on: boolean): { held: number; grad: Float32Array; loss: number } {
    setGradientMemorySaver(on);
    const rng = rngFor('prune');
    const x = tf.tensor2d(randn(rng, [16, 8]).data, [16, 8]);
    const w = tf.tidy(() => tf.variable(tf.tensor2d(randn(rng, [8, 8]).data, [8, 8]))); // tidy: the initialiser
    let held = 0;
    const { value, grads } = tf.variableGrads(() => {
      const start = tf.memory().numTensors;
      // the target: four ops on the constant x alone, each saving tensors for a backward never run
      const mean = tf.mean(x, -1, true);
      const target = tf.div(
        tf.sub(x, mean),
        tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(x, mean)), -1, true), 1e-6)),
      );
      const loss = tf.mean(tf.square(tf.sub(tf.matMul(x, w), target))) as tf.Scalar;
      held = tf.memory().numTensors - start;
      return loss;
    }, [w]);
    const out = { held, grad: Float32Array.from(grads[w.name]!.dataSync()), loss: value.dataSync()[0]! };
    tf.dispose([value, ...Object.values(grads), x, w]);
    setGradientMemorySaver(true);
    return out;
  }

  it('keeps fewer tensors through the forward, with the same loss and gradient, and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const off = step(false);
    const on = step(true);
    expect(on.loss).toBe(off.loss);
    expect(Array.from(on.grad)).toEqual(Array.from(off.grad));
    // the target's ops saved 10+ tensors when recorded; pruned, they are released at once
    expect(on.held).toBeLessThan(off.held - 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('still differentiates with respect to a plain tensor (not a variable)', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const c = tf.tensor1d([4, 5, 6]);
    // d/dx Σ x²·c = 2xc; the c-only branch (c + 1) is pruned, the x branch kept
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.add(tf.mul(tf.square(a), c), tf.sum(tf.add(c, 1)))))(x);
    expect(Array.from(g.dataSync())).toEqual([8, 20, 36]);
    tf.dispose([x, c, g]);
  });
});
