import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, tf, randn, rngFor } from './harness.js';
import { adamwUpdate, sgdUpdate, sumOfSquares } from '../../src/engine/optim.js';

/** torch.optim.AdamW / SGD written out with tfjs ops: the reference the fused loops must match. */
function adamwRef(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  lr: number,
  wd: number,
  s: number,
  t: number,
) {
  return tf.tidy(() => {
    const gs = tf.mul(g, s);
    const m1 = tf.add(tf.mul(m, 0.9), tf.mul(gs, 0.1));
    const v1 = tf.add(tf.mul(v, 0.95), tf.mul(tf.square(gs), 0.05));
    const upd = tf.div(m1, tf.add(tf.div(tf.sqrt(v1), Math.sqrt(1 - 0.95 ** t)), 1e-8));
    const p1 = tf.sub(tf.mul(p, 1 - lr * wd), tf.mul(upd, lr / (1 - 0.9 ** t)));
    return [p1, m1, v1].map((x) => x.dataSync() as Float32Array);
  });
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function close(a: Float32Array, b: Float32Array, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  // relative, with an absolute floor for values near 0 (the reference rounds each op to float32)
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + 1e-3));
  expect(worst).toBeLessThan(tol);
}

describe.each(['wasm', 'cpu'])('fused optimizer updates on %s', (backend) => {
  beforeAll(async () => {
    await setupEngine('auto');
    tf.setBackend(backend);
  });

  it('AdamW matches the composed torch.optim.AdamW formula over several steps', () => {
    const rng = rngFor(`adamw-${backend}`);
    const shape = [37, 5];
    // made in a tidy, so each variable owns its memory alone (no copy on the first update)
    const init = randn(rng, shape).data;
    const [p, m, v] = tf.tidy(() => [
      tf.variable(tf.tensor(init, shape)),
      tf.variable(tf.zeros(shape)),
      tf.variable(tf.zeros(shape)),
    ]) as [tf.Variable, tf.Variable, tf.Variable];
    let ref = [init.slice(), new Float32Array(185), new Float32Array(185)] as Float32Array[];
    const before = tf.memory().numTensors;
    for (let t = 1; t <= 3; t++) {
      const g = tf.tensor(randn(rng, shape).data, shape);
      const [rp, rm, rv] = ref.map((x) => tf.tensor(x, shape));
      ref = adamwRef(rp!, g, rm!, rv!, 0.01, 0.05, 0.5, t);
      tf.dispose([rp!, rm!, rv!]);
      const [pid, mid] = [p.dataId, m.dataId];
      adamwUpdate(p, g, m, v, {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0.05,
        gradScale: 0.5,
        t,
      });
      expect(m.dataId).toBe(mid); // the moments are written where they lie
      expect(p.dataId).not.toBe(pid); // the parameter gets a new buffer (see the XNNPACK test)
      g.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    close(p.dataSync() as Float32Array, ref[0]!, 1e-5);
    close(m.dataSync() as Float32Array, ref[1]!, 1e-5);
    close(v.dataSync() as Float32Array, ref[2]!, 1e-5);
    tf.dispose([p, m, v]);
  });

  it('SGD with momentum and coupled decay matches torch.optim.SGD', () => {
    const p = tf.variable(tf.tensor([1, -2, 3]));
    const buf = tf.variable(tf.zeros([3]));
    const g = tf.tensor([0.5, 0.5, -1]);
    sgdUpdate(p, g, buf, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, gradScale: 2 });
    sgdUpdate(p, g, buf, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, gradScale: 2 });
    // step 1: g' = 2g + 0.01p, buf = g'; step 2: g'' from the new p, buf = 0.9·buf + g''
    const p0 = [1, -2, 3];
    const g1 = p0.map((x, i) => 2 * [0.5, 0.5, -1][i]! + 0.01 * x);
    const p1 = p0.map((x, i) => x - 0.1 * g1[i]!);
    const g2 = p1.map((x, i) => 2 * [0.5, 0.5, -1][i]! + 0.01 * x);
    const b2 = g1.map((b, i) => 0.9 * b + g2[i]!);
    const p2 = p1.map((x, i) => x - 0.1 * b2[i]!);
    close(p.dataSync() as Float32Array, Float32Array.from(p2), 1e-6);
    close(buf.dataSync() as Float32Array, Float32Array.from(b2), 1e-6);
    tf.dispose([p, buf, g]);
  });

  it('a stock kernel that caches packed weights by tensor id sees the updated parameter', () => {
    // the RGB stem's Conv2D (3 input channels) stays on tfjs-wasm's XNNPACK kernel
    const rng = rngFor(`stem-${backend}`);
    const x = tf.tensor(randn(rng, [1, 6, 6, 3]).data, [1, 6, 6, 3]) as tf.Tensor4D;
    const f = tf.tidy(() => tf.variable(tf.tensor(randn(rng, [3, 3, 3, 4]).data, [3, 3, 3, 4])));
    const buf = tf.tidy(() => tf.variable(tf.zeros([3, 3, 3, 4])));
    tf.dispose(tf.conv2d(x, f as tf.Tensor4D, 1, 'same')); // the kernel has now seen f
    const g = tf.onesLike(f);
    sgdUpdate(f, g, buf, { lr: 0.5, momentum: 0.9, weightDecay: 0, gradScale: 1 });
    const y = tf.conv2d(x, f as tf.Tensor4D, 1, 'same');
    const fCopy = tf.tensor4d(f.dataSync().slice(), [3, 3, 3, 4]);
    const ref = tf.conv2d(x, fCopy, 1, 'same');
    expect(maxAbs(y.dataSync() as Float32Array, ref.dataSync() as Float32Array)).toBeLessThan(1e-5);
    tf.dispose([x, f, buf, g, y, fCopy, ref]);
  });

  it('never writes into a tensor that shares the parameter memory', () => {
    const kept = tf.tensor([1, 2, 3, 4]);
    const p = tf.variable(tf.zeros([4]));
    p.assign(kept); // p and `kept` now share one buffer
    const m = tf.variable(tf.zeros([4]));
    const v = tf.variable(tf.zeros([4]));
    const alias = tf.reshape(m, [2, 2]);
    const g = tf.ones([4]);
    adamwUpdate(p, g, m, v, {
      lr: 0.1,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: 0,
      gradScale: 1,
      t: 1,
    });
    expect(Array.from(kept.dataSync())).toEqual([1, 2, 3, 4]);
    expect(Array.from(alias.dataSync())).toEqual([0, 0, 0, 0]);
    close(p.dataSync() as Float32Array, Float32Array.from([0.9, 1.9, 2.9, 3.9]), 1e-6);
    close(m.dataSync() as Float32Array, Float32Array.from([0.1, 0.1, 0.1, 0.1]), 1e-6);
    tf.dispose([kept, p, m, v, alias, g]);
  });

  it('sums squares of every gradient in float64', () => {
    const a = tf.tensor([3, 4]);
    const b = tf.tensor([[1e4, 1e-4]]);
    expect(sumOfSquares([a, b])).toBeCloseTo(25 + 1e8 + 1e-8, 6);
    tf.dispose([a, b]);
  });
});
