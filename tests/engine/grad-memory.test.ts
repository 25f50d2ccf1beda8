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

describe('saved tensors whose values no gradient on the path reads', () => {
  beforeAll(async () => {
    await setupEngine('auto');
  });

  /** op(h, c): h = v² descends from the variable, c is a constant; `fewer`: the tape keeps fewer clones. */
  const cases: {
    name: string;
    v: number[];
    c: number[];
    op: (h: tf.Tensor, c: tf.Tensor) => tf.Tensor;
    fewer: boolean;
  }[] = [
    {
      name: 'Conv2D, frozen filter',
      v: [2, 6, 6, 3],
      c: [3, 3, 3, 4],
      op: (h, c) => tf.conv2d(h as tf.Tensor4D, c as tf.Tensor4D, 1, 'same'),
      fewer: true,
    },
    {
      name: 'Conv2D, frozen input',
      v: [3, 3, 3, 4],
      c: [2, 6, 6, 3],
      op: (h, c) => tf.conv2d(c as tf.Tensor4D, h as tf.Tensor4D, 2, 'valid'),
      fewer: true,
    },
    {
      name: 'DepthwiseConv2dNative, frozen filter',
      v: [2, 6, 6, 3],
      c: [3, 3, 3, 1],
      op: (h, c) => tf.depthwiseConv2d(h as tf.Tensor4D, c as tf.Tensor4D, 1, 'same'),
      fewer: true,
    },
    { name: 'Add, a row', v: [4, 5], c: [5], op: (h, c) => tf.add(h, c), fewer: true },
    { name: 'Sub, constant first', v: [4, 5], c: [4, 5], op: (h, c) => tf.sub(c, h), fewer: true },
    { name: 'Multiply by a constant', v: [4, 5], c: [5], op: (h, c) => tf.mul(h, c), fewer: true },
    { name: 'Multiply, constant first', v: [4, 5], c: [4, 5], op: (h, c) => tf.mul(c, h), fewer: true },
    { name: 'RealDiv by a constant', v: [4, 5], c: [5], op: (h, c) => tf.div(h, c), fewer: true },
    {
      name: 'RealDiv of a constant',
      v: [4, 5],
      c: [4, 5],
      op: (h, c) => tf.div(c, tf.add(h, 1)),
      fewer: true,
    },
    {
      name: 'BatchMatMul, frozen right',
      v: [2, 4, 5],
      c: [2, 5, 3],
      op: (h, c) => tf.matMul(h as tf.Tensor3D, c as tf.Tensor3D),
      fewer: true,
    },
    {
      name: 'BatchMatMul, frozen left',
      v: [2, 5, 3],
      c: [2, 4, 5],
      op: (h, c) => tf.matMul(c as tf.Tensor3D, h as tf.Tensor3D, false, false),
      fewer: true,
    },
    {
      name: 'Reshape, Slice, PadV2, ExpandDims',
      v: [4, 6],
      c: [1],
      op: (h, c) =>
        tf.mul(
          tf.expandDims(
            tf.pad(tf.slice(tf.reshape(h, [6, 4]), [1, 0], [3, 4]), [
              [1, 0],
              [0, 2],
            ]),
            0,
          ),
          c,
        ),
      fewer: true,
    },
    {
      name: 'Multiply, both operands on the path',
      v: [4, 5],
      c: [1],
      op: (h) => tf.mul(h, tf.neg(h)),
      fewer: false,
    },
    {
      name: 'Sum and Mean',
      v: [4, 6],
      c: [6],
      op: (h, c) => tf.add(tf.sum(h, 0), tf.mul(tf.mean(h, 1, true), c)),
      fewer: true,
    },
  ];

  function step(on: boolean, k: (typeof cases)[number]): { held: number; grad: Float32Array; loss: number } {
    setGradientMemorySaver(on);
    const rng = rngFor(`saved-values ${k.name}`);
    const t = (shape: number[]) => tf.tensor(randn(rng, shape).data, shape);
    const v = tf.tidy(() => tf.variable(t(k.v)));
    const c = t(k.c);
    let held = 0;
    const { value, grads } = tf.variableGrads(() => {
      const h = tf.square(v);
      const start = tf.memory().numTensors;
      const y = k.op(h, c);
      held = tf.memory().numTensors - start;
      // a cotangent that is not all ones (a weighted sum), so every element's gradient differs
      return tf.sum(tf.mul(y, tf.reshape(tf.linspace(0.5, 1.5, y.size), y.shape))) as tf.Scalar;
    }, [v]);
    const out = { held, grad: Float32Array.from(grads[v.name]!.dataSync()), loss: value.dataSync()[0]! };
    tf.dispose([value, ...Object.values(grads), v, c]);
    setGradientMemorySaver(true);
    return out;
  }

  it.each(cases)('$name: the same gradient, fewer tensors held where no value is read, no leak', (k) => {
    const before = tf.memory().numTensors;
    const off = step(false, k);
    const on = step(true, k);
    expect(on.loss).toBe(off.loss);
    expect(Array.from(on.grad)).toEqual(Array.from(off.grad));
    if (k.fewer) expect(on.held).toBeLessThan(off.held);
    else expect(on.held).toBe(off.held);
    expect(tf.memory().numTensors).toBe(before);
  });
});
