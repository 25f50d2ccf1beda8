import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { BACKBONE_NAMES, createBackbone } from '../../src/models/backbones/index.js';
import { createCosineClassifier } from '../../src/models/heads/cosine-classifier.js';
import { createRng } from '../../src/core/rng.js';

describe('face backbones', () => {
  beforeAll(async () => {
    await initEngine();
  });
  const input = (n: number, s: number, seed = 1) => {
    const rng = createRng(seed);
    return tf.tensor4d(
      Float32Array.from({ length: n * s * s * 3 }, () => rng.next()),
      [n, s, s, 3],
    );
  };

  for (const name of ['r-tiny', 'r18-half', 'mbf-small', 'r18'] as const) {
    it(`${name}: [N,S,S,3] -> [N,D], deterministic in eval, no leaks`, () => {
      const before = tf.memory().numTensors;
      const net = createBackbone(name, createRng(0), { inputSize: 32, embeddingDim: 64 });
      const afterBuild = tf.memory().numTensors;
      const x = input(2, 32);
      const a = net.apply(x);
      const b = net.apply(x, false);
      expect(a.shape).toEqual([2, 64]);
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      expect(a.dataSync().every(Number.isFinite)).toBe(true);
      tf.dispose([a, b, x]);
      expect(tf.memory().numTensors).toBe(afterBuild);
      net.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('equal seeds give equal weights; the registry is exhaustive and refuses unknown names', () => {
    const a = createBackbone('r-tiny', createRng(5), { inputSize: 32 });
    const b = createBackbone('r-tiny', createRng(5), { inputSize: 32 });
    expect(Object.keys(a.params)).toEqual(Object.keys(b.params));
    expect(Array.from(a.params['conv1.weight']!.dataSync())).toEqual(
      Array.from(b.params['conv1.weight']!.dataSync()),
    );
    a.dispose();
    b.dispose();
    expect(BACKBONE_NAMES).toContain('r50');
    expect(() => createBackbone('r51', createRng(0))).toThrow(/unknown backbone "r51"; known: r18, r34, r50/);
  });

  it('insightface IResNet layout: BN-conv-BN-PReLU-conv-BN blocks, downsample shortcut, BN features head', () => {
    const net = createBackbone('r18', createRng(0), { inputSize: 32 });
    const keys = Object.keys(net.params);
    for (const k of [
      'conv1.weight',
      'bn1.weight',
      'prelu.weight',
      'layer1.0.bn1.weight',
      'layer1.0.conv1.weight',
      'layer1.0.bn2.weight',
      'layer1.0.prelu.weight',
      'layer1.0.conv2.weight',
      'layer1.0.bn3.weight',
      'layer1.0.downsample.0.weight',
      'layer4.1.conv2.weight',
      'bn2.weight',
      'fc.weight',
      'features.bias',
    ]) {
      expect(keys).toContain(k);
    }
    expect(keys).not.toContain('features.weight'); // γ fixed at 1, as insightface freezes it
    expect(keys).not.toContain('layer1.1.downsample.0.weight');
    expect(Object.keys(net.buffers)).toContain('layer2.0.bn3.running_mean');
    expect(net.params['layer2.0.conv1.weight']!.shape).toEqual([3, 3, 64, 128]);
    net.dispose();
  });

  it('training mode uses batch statistics and updates running stats; eval uses running stats', () => {
    const net = createBackbone('r-tiny', createRng(0), { inputSize: 32, embeddingDim: 16 });
    const x = input(4, 32, 2);
    const rm = net.buffers['bn1.running_mean']!;
    const before = Array.from(rm.dataSync());
    const t = net.apply(x, true);
    const after = Array.from(rm.dataSync());
    expect(after).not.toEqual(before);
    const e = net.apply(x, false);
    expect(Array.from(t.dataSync())).not.toEqual(Array.from(e.dataSync()));
    tf.dispose([t, e, x]);
    net.dispose();
  });

  it('gradients reach every parameter through the cosine head', () => {
    const rng = createRng(0);
    const net = createBackbone(process.env.BB ?? 'mbf-small', rng.fork('b'), {
      inputSize: 32,
      embeddingDim: 16,
    });
    const head = createCosineClassifier(16, 3, rng.fork('h'));
    const x = input(3, 32, 3);
    const vars = [...net.trainableVariables(), head.weight];
    const { value, grads } = tf.variableGrads(
      () =>
        tf.sum(
          tf.mul(
            head.apply(net.apply(x, true)),
            tf.tensor2d([
              [1, 0, 0],
              [0, 1, 0],
              [0, 0, 1],
            ]),
          ),
        ) as tf.Scalar,
      vars,
    );
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const zero = Object.entries(grads)
      .filter(([, g]) => tf.max(tf.abs(g)).dataSync()[0] === 0)
      .map(([k]) => k);
    expect(zero).toEqual([]);
    tf.dispose([value, x, ...Object.values(grads)]);
    net.dispose();
    head.dispose();
  });

  it('refuses a wrong input size with the shape in the message', () => {
    const net = createBackbone('r-tiny', createRng(0), { inputSize: 32 });
    const x = input(1, 48);
    expect(() => net.apply(x)).toThrow(/expects \[N,32,32,3\] input, got \[1,48,48,3\]/);
    x.dispose();
    net.dispose();
  });
});
