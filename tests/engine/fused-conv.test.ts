import { beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, tf, randn, rngFor } from './harness.js';
import { loadNativeKernels, nativeKernels } from '../../src/engine/native/index.js';
import { loadFaceNet } from '../../src/loaders/face-net.js';

/**
 * FusedConv2D / FusedDepthwiseConv2D (src/engine/kernels/fused-conv.ts) against the unfused ops on
 * the same backend, bit for bit, and the imported faceplugin network (which fuses each Conv with
 * the PRelu after it when no gradient is recorded) against itself under a gradient. Native kernels only.
 */
// Without a C compiler the stock XNNPACK kernels run these, with their own rounding.
const available = loadNativeKernels(1, null) !== null;

describe.skipIf(!available)('fused convolutions on wasm', () => {
  beforeAll(async () => {
    await setupEngine('auto');
    tf.setBackend('wasm');
  });

  type Case = {
    name: string;
    x: number[];
    f: number[];
    strides: number;
    pad: 'same' | 'valid';
    dw?: boolean;
  };
  const cases: Case[] = [
    { name: '1×1', x: [2, 6, 6, 32], f: [1, 1, 32, 48], strides: 1, pad: 'valid' },
    { name: '3×3, stride 2', x: [2, 9, 9, 16], f: [3, 3, 16, 24], strides: 2, pad: 'same' },
    { name: 'RGB stem', x: [2, 12, 12, 3], f: [3, 3, 3, 16], strides: 1, pad: 'same' },
    { name: 'depthwise 3×3', x: [2, 10, 10, 32], f: [3, 3, 32, 1], strides: 1, pad: 'same', dw: true },
    {
      name: 'depthwise 3×3, stride 2',
      x: [2, 11, 11, 64],
      f: [3, 3, 64, 1],
      strides: 2,
      pad: 'same',
      dw: true,
    },
  ];
  const acts = ['linear', 'relu', 'prelu', 'prelu (one slope)'] as const;

  for (const c of cases) {
    for (const act of acts) {
      it(`${c.name}, bias, ${act}: the unfused ops' bits`, () => {
        const rng = rngFor(`fused-${c.name}-${act}`);
        const C = c.dw ? c.f[2]! * c.f[3]! : c.f[3]!;
        const [xs, fs, bs, as] = [randn(rng, c.x), randn(rng, c.f), randn(rng, [C]), randn(rng, [C])];
        const before = tf.memory().numTensors;
        const [fused, plain] = tf.tidy(() => {
          const x = tf.tensor4d(xs.data, c.x as [number, number, number, number]);
          const filter = tf.tensor4d(fs.data, c.f as [number, number, number, number]);
          const bias = tf.tensor1d(bs.data);
          const alpha = act === 'prelu (one slope)' ? tf.scalar(0.2) : tf.mul(tf.tensor1d(as.data), 0.1);
          const activation = (act.startsWith('prelu') ? 'prelu' : act) as 'linear' | 'relu' | 'prelu';
          const args = {
            x,
            filter,
            strides: c.strides,
            pad: c.pad,
            bias,
            activation,
            preluActivationWeights: alpha,
          };
          const y1 = c.dw ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
          const conv = c.dw
            ? tf.depthwiseConv2d(x, filter, c.strides, c.pad)
            : tf.conv2d(x, filter, c.strides, c.pad);
          const z = tf.add(conv, bias);
          const y2 = activation === 'prelu' ? tf.prelu(z, alpha) : activation === 'relu' ? tf.relu(z) : z;
          return [y1.dataSync(), y2.dataSync()].map((d) => Float32Array.from(d)) as [
            Float32Array,
            Float32Array,
          ];
        });
        expect(tf.memory().numTensors).toBe(before);
        expect(plain.some((v) => v <= 0) && plain.some((v) => v > 0)).toBe(true); // the activation saw both signs
        expect(Array.from(fused)).toEqual(Array.from(plain));
      });
    }
  }

  it('takes the stock kernel for an activation it does not fuse (elu), with the same values to float32 precision', () => {
    const rng = rngFor('fused-elu');
    const [xs, fs, bs] = [randn(rng, [1, 5, 5, 8]), randn(rng, [3, 3, 8, 8]), randn(rng, [8])];
    const [a, b] = tf.tidy(() => {
      const x = tf.tensor4d(xs.data, [1, 5, 5, 8]);
      const filter = tf.tensor4d(fs.data, [3, 3, 8, 8]);
      const bias = tf.tensor1d(bs.data);
      const y1 = tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation: 'elu' });
      const y2 = tf.elu(tf.add(tf.conv2d(x, filter, 1, 'same'), bias));
      return [y1.dataSync(), y2.dataSync()].map((d) => Float32Array.from(d)) as [Float32Array, Float32Array];
    });
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 4);
  });

  it('the imported faceplugin network: the same embedding bits with fused steps (no gradient) and without (under a gradient)', async () => {
    expect(nativeKernels(tf.backend())).not.toBeNull(); // otherwise the fused path is the stock kernel
    const net = await loadFaceNet('faceplugin');
    const rng = rngFor('fused-faceplugin');
    const xs = Float32Array.from({ length: 2 * 112 * 112 * 3 }, () => rng.next());
    const x = tf.tensor4d(xs, [2, 112, 112, 3]);
    const fused = tf.tidy(() => Float32Array.from(net.apply(x, false).dataSync()));
    let plain = new Float32Array(0);
    const g = tf.grad((a: tf.Tensor) => {
      const y = net.apply(a as tf.Tensor4D, false);
      plain = Float32Array.from(y.dataSync());
      return tf.sum(y);
    })(x);
    expect(fused.length).toBe(2 * net.embeddingDim);
    expect(Array.from(fused)).toEqual(Array.from(plain));
    tf.dispose([x, g]);
    net.dispose();
  });
});
