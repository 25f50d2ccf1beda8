import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { irmLoss, irmLossToTarget } from '../../src/losses/irm.js';
import { maskedMse } from '../../src/losses/reconstruction.js';
import { createMae, type Mae } from '../../src/models/mae/mae.js';
import { randomMasking, type Masking } from '../../src/models/mae/masking.js';
import { createTeacherCache } from '../../src/train/teacher-cache.js';
import type { FaceNet } from '../../src/types.js';
import { randomImages, tinyFaceNet, TINY_TEST } from '../mae/helpers.js';

beforeAll(async () => {
  await initEngine();
});

/** The MAE step's loss (MSE + IRM) and gradients, the real side from `eReal` or, when null, computed on the tape. */
function stepOf(
  mae: Mae,
  teacher: FaceNet,
  x: tf.Tensor4D,
  m: Masking,
  eReal: tf.Tensor2D | null,
): { loss: number; grads: Record<string, Float32Array> } {
  const { value, grads } = tf.variableGrads(() => {
    const f = mae.forward(x, m);
    const rec = mae.pasteBack(x, f);
    const irm = eReal ? irmLossToTarget(teacher, eReal, rec) : irmLoss(teacher, x, rec);
    return tf.add(maskedMse(f.pred, f.target, f.mask), tf.mul(irm, 0.5)) as tf.Scalar;
  }, Object.values(mae.variables));
  const out = {
    loss: value.dataSync()[0]!,
    grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array])),
  };
  value.dispose();
  tf.dispose(Object.values(grads));
  return out;
}

function expectSame(a: ReturnType<typeof stepOf>, b: ReturnType<typeof stepOf>): void {
  expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
  let maxG = 0;
  for (const [k, g] of Object.entries(b.grads)) {
    const h = a.grads[k]!;
    for (let i = 0; i < g.length; i++) {
      expect(Math.abs(h[i]! - g[i]!), k).toBeLessThan(1e-5);
      maxG = Math.max(maxG, Math.abs(g[i]!));
    }
  }
  expect(maxG).toBeGreaterThan(1e-4); // the comparison is not between zeros
}

describe('teacher embedding cache (IRM real side)', () => {
  it('gives the loss and MAE gradients of the uncached step: cold, warm and partly cached', () => {
    const rng = createRng(21);
    const mae = createMae(TINY_TEST, rng.fork('init'));
    const inner = tinyFaceNet(32, 16, rng.fork('teacher'));
    let rows = 0;
    const teacher: FaceNet = {
      ...inner,
      apply: (x, t) => {
        rows += x.shape[0];
        return inner.apply(x, t);
      },
    };
    const all = randomImages(6, 32, rng);
    const a = tf.slice(all, [0, 0, 0, 0], [4, 32, 32, 3]) as tf.Tensor4D;
    const b = tf.slice(all, [2, 0, 0, 0], [4, 32, 32, 3]) as tf.Tensor4D;
    const m = randomMasking(4, 16, 0.75, rng.fork('mask'));
    const cache = createTeacherCache(teacher);
    const before = tf.memory().numTensors;
    const run = (x: tf.Tensor4D, keys: string[]) => {
      const e = cache.embed(x, keys);
      try {
        return stepOf(mae, teacher, x, m, e);
      } finally {
        e.dispose();
      }
    };

    const refA = stepOf(mae, teacher, a, m, null);
    const refB = stepOf(mae, teacher, b, m, null);
    rows = 0;
    expectSame(run(a, ['i0', 'i1', 'i2', 'i3']), refA); // cold: the teacher embeds all 4
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 4, entries: 4 });
    expectSame(run(a, ['i0', 'i1', 'i2', 'i3']), refA); // warm: the teacher runs for rec only
    expectSame(run(b, ['i2', 'i3', 'i4', 'i5']), refB); // 2 hits, 2 misses
    expect(cache.stats()).toMatchObject({ hits: 6, misses: 6, entries: 6, bytes: 6 * 16 * 4 });
    expect(rows).toBe(3 * 4 + 4 + 0 + 2); // rec of 3 steps + the real misses
    expect(tf.memory().numTensors).toBe(before);

    cache.dispose();
    expect(cache.stats().entries).toBe(0);
    tf.dispose([all, a, b]);
    mae.dispose();
    inner.dispose();
  });

  it('stays within its byte bound (least recently used out) and runs uncached at 0 bytes', () => {
    const rng = createRng(22);
    const teacher = tinyFaceNet(32, 16, rng.fork('teacher'));
    const x = randomImages(4, 32, rng);
    const ref = tf.tidy(() => teacher.apply(x).dataSync());
    const small = createTeacherCache(teacher, 2 * 16 * 4); // two embeddings
    for (const bytes of [small, createTeacherCache(teacher, 0)]) {
      for (let k = 0; k < 2; k++) {
        const e = bytes.embed(x, ['a', 'b', 'c', 'd']);
        const got = e.dataSync();
        for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i]! - ref[i]!)).toBeLessThan(1e-6);
        e.dispose();
      }
    }
    expect(small.stats()).toMatchObject({ entries: 2, bytes: 2 * 16 * 4 });
    expect(() => small.embed(x, ['a'])).toThrow(/1 keys for a batch of 4 images/);
    expect(() => createTeacherCache(teacher, -1)).toThrow(/>= 0 bytes/);
    x.dispose();
    teacher.dispose();
  });
});
