import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, tf, randn, rngFor, maxRelErr } from './harness.js';
import { attentionFused, linearFused } from '../../src/engine/kernels/index.js';
import { composedAttention, composedLinear } from './composed.js';

/** Bytes of tensors the tape holds between the forward and the backward of sum(f(vars)·w). */
function heldBytes(make: () => tf.Tensor[], f: (...xs: tf.Tensor[]) => tf.Tensor): number {
  const vars = tf.tidy(() => make().map((t) => tf.variable(t)));
  let held = 0;
  const { value, grads } = tf.variableGrads(() => {
    const start = tf.memory().numBytes;
    const y = f(...vars);
    const loss = tf.sum(y) as tf.Scalar;
    held = tf.memory().numBytes - start;
    return loss;
  }, vars);
  tf.dispose([value, ...Object.values(grads), ...vars]);
  return held;
}

describe.each(['wasm', 'cpu'])('one-kernel linear and attention on %s', (backend) => {
  beforeAll(async () => {
    await setupEngine('auto');
    tf.setBackend(backend);
  });

  it('match the composed ops and their gradients, leak nothing, and hold less for the backward', () => {
    const rng = rngFor(`lin-att-${backend}`);
    const [B, T, H, d] = [3, 7, 2, 4];
    const D = H * d;
    const specs = [[B, T, D], [D, D], [D], [B, T, D], [B, T, D], [B, T, D]].map((s) => randn(rng, s));
    const make = () => specs.map((s) => tf.tensor(s.data, s.shape));
    // a block's attention half: residual + proj(attention(q(x), k(x), v(x)))
    const half =
      (lin: typeof linearFused, att: typeof attentionFused) =>
      (...ts: tf.Tensor[]) => {
        const [x, w, b, qb, kb, vb] = ts as [
          tf.Tensor3D,
          tf.Tensor2D,
          tf.Tensor1D,
          tf.Tensor3D,
          tf.Tensor3D,
          tf.Tensor3D,
        ];
        const o = att(tf.add(lin(x, w, b), qb), tf.add(lin(x, w), kb), tf.mul(lin(x, w, b), vb), H);
        return lin(o, w, b, x);
      };
    const fused = half(linearFused, attentionFused);
    const ref = half(composedLinear as typeof linearFused, composedAttention as typeof attentionFused);
    const run = (f: (...xs: tf.Tensor[]) => tf.Tensor) =>
      tf.tidy(() => {
        const xs = make();
        const wt = tf.tensor(randn(rngFor('cot'), [B, T, D]).data, [B, T, D]);
        const y = f(...xs);
        const gs = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), wt)))(xs);
        return [y, ...gs].map((t) => Float32Array.from(t.dataSync()));
      });
    const before = tf.memory().numTensors;
    const got = run(fused);
    expect(tf.memory().numTensors).toBe(before);
    const want = run(ref);
    got.forEach((g, i) => expect(maxRelErr(g, want[i]!), `output ${i}`).toBeLessThan(1e-4));
    expect(heldBytes(make, fused)).toBeLessThan(0.7 * heldBytes(make, ref));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuse shapes that do not fit, naming the kernel', () => {
    const x = tf.zeros([2, 3, 4]);
    const w = tf.zeros([5, 6]);
    expect(() => linearFused(x, w as tf.Tensor2D)).toThrow(/FacemaeLinear.*K = 5/);
    expect(() => attentionFused(x as tf.Tensor3D, x as tf.Tensor3D, x as tf.Tensor3D, 3)).toThrow(
      /FacemaeAttention: 4 channels do not split into 3 heads/,
    );
    tf.dispose([x, w]);
  });
});
