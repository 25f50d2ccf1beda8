/**
 * The kernel test suite, run once with native BLAS and once with the no-BLAS fallback.
 */
import { describe, expect, it } from 'vitest';
import { tf, checkAgainstCpu, randn, rngFor } from './harness.js';
import { batchNormTrain, collapseTranspose } from '../../src/engine/index.js';
import { attentionFused, linearFused } from '../../src/engine/kernels/index.js';
import { composedAttention, composedLinear } from './composed.js';

export function kernelSuite(): void {
  describe('BatchMatMul', () => {
    // tfjs-core's matMul gradient does not reduce broadcast batch dims (on any backend), so the
    // broadcasting cases compare the forward pass only.
    const cases: [string, number[], number[], boolean, boolean][] = [
      ['2d', [7, 5], [5, 3], false, false],
      ['2d tA', [5, 7], [5, 3], true, false],
      ['2d tB', [7, 5], [3, 5], false, true],
      ['2d tA tB', [5, 7], [3, 5], true, true],
      ['3d', [4, 6, 5], [4, 5, 3], false, false],
      ['3d tA tB', [4, 5, 6], [4, 3, 5], true, true],
      ['bcast b', [2, 3, 6, 5], [5, 4], false, false],
      ['bcast b tA', [2, 3, 5, 6], [5, 4], true, false],
      ['bcast a', [6, 5], [3, 5, 4], false, false],
      ['rank4 attention', [2, 3, 9, 8], [2, 3, 9, 8], false, true],
      ['wide', [33, 70], [70, 65], false, false],
    ];
    for (const [name, sa, sb, ta, tb] of cases) {
      const grad = !name.startsWith('bcast');
      it(name, () => checkAgainstCpu(`mm ${name}`, (a, b) => tf.matMul(a!, b!, ta, tb), [sa, sb], { grad }));
    }
    it('bcast both sides (the cpu backend cannot: its reference tiles first)', () =>
      checkAgainstCpu(
        'mm bcast both',
        (a, b) => tf.matMul(a!, b!, false, true),
        [
          [2, 1, 6, 5],
          [1, 3, 4, 5],
        ],
        {
          grad: false,
          reference: (a, b) => tf.matMul(tf.tile(a!, [1, 3, 1, 1]), tf.tile(b!, [2, 1, 1, 1]), false, true),
        },
      ));
  });

  describe('_FusedMatMul', () => {
    const acts = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid', 'prelu'] as const;
    for (const act of acts) {
      it(`bias + ${act}`, () =>
        checkAgainstCpu(
          `fused ${act}`,
          (a, b, bias, alpha) =>
            tf.fused.matMul({
              a: a!,
              b: b!,
              bias: bias!,
              activation: act,
              preluActivationWeights: act === 'prelu' ? alpha : undefined,
              leakyreluAlpha: 0.1,
            }),
          act === 'prelu' ? [[6, 5], [5, 4], [4], [4]] : [[6, 5], [5, 4], [4]],
          // the cpu fused kernel's gradient is only defined for linear/relu-like; compare outputs for all,
          // gradients where tfjs defines them
          { grad: act === 'linear' || act === 'relu' },
        ));
    }
    it('transposed, batched, no bias', () =>
      checkAgainstCpu(
        'fused tt',
        (a, b) => tf.fused.matMul({ a: a!, b: b!, transposeA: true, transposeB: true }),
        [
          [3, 5, 6],
          [3, 4, 5],
        ],
      ));
    it('bias broadcast [M,1]', () =>
      checkAgainstCpu('fused bias2d', (a, b, bias) => tf.fused.matMul({ a: a!, b: b!, bias: bias! }), [
        [6, 5],
        [5, 4],
        [6, 1],
      ]));
  });

  describe('Linear and attention (one kernel each way; the reference is the composed ops on cpu)', () => {
    const lin: [string, number[], boolean, boolean][] = [
      ['3-d, bias', [3, 7, 5], true, false],
      ['2-d, bias + residual', [9, 5], true, true],
      ['no bias, residual', [2, 4, 5], false, true],
      ['no bias', [6, 5], false, false],
    ];
    for (const [name, xs, bias, res] of lin) {
      const outShape = [...xs.slice(0, -1), 6];
      const shapes = [xs, [5, 6], ...(bias ? [[6]] : []), ...(res ? [outShape] : [])];
      const pick = (ts: tf.Tensor[]) => {
        const [x, w, ...rest] = ts;
        return {
          x: x!,
          w: w as tf.Tensor2D,
          b: bias ? (rest.shift() as tf.Tensor1D) : undefined,
          r: res ? rest.shift() : undefined,
        };
      };
      it(`linear ${name}`, () =>
        checkAgainstCpu(
          `linear ${name}`,
          (...ts) => {
            const { x, w, b, r } = pick(ts);
            return linearFused(x, w, b, r);
          },
          shapes,
          {
            reference: (...ts) => {
              const { x, w, b, r } = pick(ts);
              return composedLinear(x, w, b, r);
            },
          },
        ));
    }
    const att: [string, number[], number][] = [
      ['2 heads', [3, 5, 8], 2],
      ['1 head, 1 token', [2, 1, 4], 1],
      ['4 heads, T 13 (encoder-like)', [2, 13, 16], 4],
      ['2 heads, T 30 (decoder-like: long rows)', [2, 30, 24], 2],
    ];
    for (const [name, shape, heads] of att) {
      it(`attention ${name}`, () =>
        checkAgainstCpu(
          `attention ${name}`,
          (q, k, v) => attentionFused(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, heads),
          [shape, shape, shape],
          {
            reference: (q, k, v) =>
              composedAttention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, heads),
          },
        ));
    }
  });

  describe('Conv2D and its backprops', () => {
    const cases: [string, number[], number[], number, 'same' | 'valid' | number, number][] = [
      ['3x3 same s1', [2, 7, 7, 3], [3, 3, 3, 4], 1, 'same', 1],
      ['3x3 same s2', [2, 8, 8, 4], [3, 3, 4, 5], 2, 'same', 1],
      ['3x3 valid s2 odd', [3, 9, 7, 2], [3, 3, 2, 3], 2, 'valid', 1],
      ['1x1 s1', [2, 5, 5, 8], [1, 1, 8, 6], 1, 'valid', 1],
      ['1x1 s2', [2, 6, 6, 4], [1, 1, 4, 6], 2, 'same', 1],
      ['explicit pad 1', [2, 6, 6, 3], [3, 3, 3, 4], 1, 1, 1],
      ['5x5 same s1 wide C', [1, 6, 6, 40], [5, 5, 40, 8], 1, 'same', 1],
      ['patch embed 4x4 s4', [2, 8, 8, 3], [4, 4, 3, 6], 4, 'valid', 1],
      ['3x3 valid s1 wide C', [2, 7, 6, 12], [3, 3, 12, 5], 1, 'valid', 1],
      ['2x2 same s1 (asymmetric pad)', [2, 5, 5, 9], [2, 2, 9, 4], 1, 'same', 1],
      ['4x4 same s2 even kernel', [2, 8, 8, 9], [4, 4, 9, 3], 2, 'same', 1],
      // padded-GEMM path (stride 1, images large enough for the padded-area bound of 1.2)
      ['padded 3x3 same s1', [2, 24, 21, 9], [3, 3, 9, 10], 1, 'same', 1],
      ['padded 3x3 explicit pad 1, batch 3, odd', [3, 23, 25, 8], [3, 3, 8, 5], 1, 1, 1],
      ['padded 3x3 valid s1', [2, 26, 25, 8], [3, 3, 8, 6], 1, 'valid', 1],
      ['padded 2x2 same s1 (asymmetric pad)', [2, 16, 16, 9], [2, 2, 9, 4], 1, 'same', 1],
      ['padded 5x5 same s1', [1, 44, 42, 8], [5, 5, 8, 6], 1, 'same', 1],
      ['padded 3x3 same s1, 1 image', [1, 24, 24, 16], [3, 3, 16, 8], 1, 'same', 1],
      // scratch ≥ 64 KB: the native copies (pad, crop, the strided gradient's phases) run
      ['padded 3x3 same s1, 32 channels out', [2, 30, 28, 8], [3, 3, 8, 32], 1, 'same', 1],
      ['3x3 same s2, 30 px, 16 channels', [2, 30, 30, 16], [3, 3, 16, 16], 2, 'same', 1],
      // few input channels (the native direct convolution where available): channel tails, padding, dilation-free strides
      ['thin 3x3 same s2, 3 to 20 channels', [2, 20, 23, 3], [3, 3, 3, 20], 2, 'same', 1],
      ['thin 5x5 explicit pad 2, 1 to 16 channels', [2, 17, 19, 1], [5, 5, 1, 16], 1, 2, 1],
      ['thin 3x3 valid s1, 5 to 32 channels', [1, 12, 16, 5], [3, 3, 5, 32], 1, 'valid', 1],
      // filter gradients over ≥ 8,192 pixels: K cut into pieces over the native threads (padded, im2col, 1x1)
      ['K-split padded 3x3 s1, 64 px', [2, 64, 64, 8], [3, 3, 8, 8], 1, 'same', 1],
      ['K-split im2col 3x3 s2, 64 px', [8, 64, 64, 8], [3, 3, 8, 16], 2, 'same', 1],
      ['K-split 1x1 s1, 64 px', [2, 64, 64, 8], [1, 1, 8, 12], 1, 'valid', 1],
      // strided 1x1 (subsampled GEMM)
      ['1x1 s2 odd', [3, 7, 9, 8], [1, 1, 8, 5], 2, 'same', 1],
      ['1x1 s2 valid wide C', [2, 8, 8, 16], [1, 1, 16, 12], 2, 'valid', 1],
      ['1x1 s3', [2, 10, 7, 8], [1, 1, 8, 4], 3, 'valid', 1],
      // ≥ 64 KB subsampled: the native strided copies run (gather forward, scatter for dx)
      ['1x1 s2, 64 px, 16 channels', [2, 64, 64, 16], [1, 1, 16, 16], 2, 'valid', 1],
      ['1x1 s3 odd, 70 px', [2, 70, 67, 16], [1, 1, 16, 8], 3, 'valid', 1],
    ];
    for (const [name, xs, ws, s, pad] of cases) {
      it(name, () =>
        checkAgainstCpu(`conv ${name}`, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad), [
          xs,
          ws,
        ]),
      );
    }
    it('dilation 2 (forward)', () =>
      checkAgainstCpu(
        'conv dil',
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2),
        [
          [2, 9, 9, 3],
          [3, 3, 3, 2],
        ],
        { grad: false },
      ));
    it('chunked im2col matches (tiny scratch bound)', async () => {
      const { ctx } = await import('../../src/engine/kernels/context.js');
      const saved = ctx.scratchFloats;
      ctx.scratchFloats = 100; // forces one image per chunk
      try {
        checkAgainstCpu('conv chunk', (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), [
          [5, 8, 8, 3],
          [3, 3, 3, 4],
        ]);
      } finally {
        ctx.scratchFloats = saved;
      }
    });
    it('chunked padded path matches (tiny scratch bound)', async () => {
      const { ctx } = await import('../../src/engine/kernels/context.js');
      const saved = ctx.scratchFloats;
      ctx.scratchFloats = 100; // forces one image per chunk
      try {
        checkAgainstCpu('conv pchunk', (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [
          [3, 24, 23, 8],
          [3, 3, 8, 6],
        ]);
      } finally {
        ctx.scratchFloats = saved;
      }
    });
    it('conv2dTranspose (uses Conv2DBackpropInput forward)', () =>
      checkAgainstCpu(
        'convT',
        (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 3], 2, 'same'),
        [
          [2, 4, 4, 5],
          [3, 3, 3, 5],
        ],
      ));
  });

  describe('depthwise conv backprops', () => {
    type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];
    const ex = (t: number, b: number, l: number, r: number): Pad => [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ];
    // M = 1 without dilation runs as a forward XNNPACK convolution; the rest loop in JS
    const cases: [string, number[], number[], number, Pad][] = [
      ['3x3 same s1', [2, 6, 6, 4], [3, 3, 4, 1], 1, 'same'],
      ['3x3 same s2', [2, 7, 7, 3], [3, 3, 3, 1], 2, 'same'],
      ['multiplier 2 valid', [1, 6, 5, 3], [3, 3, 3, 2], 1, 'valid'],
      ['multiplier 2 s2 same', [2, 7, 6, 3], [3, 3, 3, 2], 2, 'same'],
      ['7x7 valid (GDC)', [2, 7, 7, 5], [7, 7, 5, 1], 1, 'valid'],
      ['3x3 explicit pad 1 s1', [2, 8, 7, 6], [3, 3, 6, 1], 1, ex(1, 1, 1, 1)],
      ['3x3 explicit pad 1 s2, even side', [2, 8, 8, 5], [3, 3, 5, 1], 2, ex(1, 1, 1, 1)],
      ['3x3 explicit pad 1 s2, odd side', [3, 9, 7, 4], [3, 3, 4, 1], 2, ex(1, 1, 1, 1)],
      ['3x3 asymmetric pad s2', [2, 9, 9, 4], [3, 3, 4, 1], 2, ex(0, 1, 0, 1)],
      ['3x3 valid s2 (rows left over)', [2, 10, 9, 3], [3, 3, 3, 1], 2, 'valid'],
      ['5x3 kernel same s1', [1, 9, 8, 7], [5, 3, 7, 1], 1, 'same'],
      ['pad wider than the kernel (loop)', [1, 5, 5, 3], [3, 3, 3, 1], 1, ex(3, 3, 3, 3)],
      // ≥ 32 output channels: the native filter gradient splits channels over threads
      ['3x3 explicit pad 1 s2, 40 channels', [3, 9, 8, 40], [3, 3, 40, 1], 2, ex(1, 1, 1, 1)],
      ['multiplier 2, 20 channels, same s1', [2, 6, 7, 20], [3, 3, 20, 2], 1, 'same'],
    ];
    for (const [name, xs, ws, s, pad] of cases) {
      it(name, () =>
        checkAgainstCpu(
          `dw ${name}`,
          (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad),
          [xs, ws],
        ),
      );
    }
  });

  describe('Slice, pad, and Maximum / Minimum (and RealDiv, stock) against one value or the same shape', () => {
    const slices: [string, number[], number[], number[]][] = [
      ['rank 1', [17], [3], [11]],
      ['rank 2, inner cut', [6, 9], [1, 2], [4, 5]],
      ['rank 3, whole rows', [5, 4, 7], [1, 0, 0], [3, 4, 7]],
      ['rank 4, the gradient of a pad', [3, 10, 9, 5], [0, 1, 1, 0], [3, 8, 7, 5]],
      ['rank 4, every axis cut', [4, 6, 5, 6], [1, 2, 1, 2], [2, 3, 3, 3]],
    ];
    for (const [name, shape, begin, size] of slices)
      it(`slice ${name}`, () => checkAgainstCpu(`slice ${name}`, (x) => tf.slice(x!, begin, size), [shape]));
    const pads: [string, number[], [number, number][], number][] = [
      [
        'rank 4, one pixel each side (mobileface)',
        [3, 7, 6, 5],
        [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ],
        0,
      ],
      [
        'rank 4, every axis, a constant',
        [2, 3, 4, 3],
        [
          [1, 0],
          [0, 2],
          [3, 1],
          [1, 2],
        ],
        0.5,
      ],
      [
        'rank 2',
        [5, 6],
        [
          [2, 1],
          [0, 3],
        ],
        -1,
      ],
      ['rank 1', [9], [[4, 0]], 0],
    ];
    for (const [name, shape, p, v] of pads)
      it(`pad ${name}`, () => checkAgainstCpu(`pad ${name}`, (x) => tf.pad(x!, p, v), [shape]));
    it('relu', () => checkAgainstCpu('relu', (x) => tf.relu(x!), [[3, 17, 5]]));
    const splits: [string, number[], number[] | number, number][] = [
      ['split axis 1 (the gradient of the cls concat)', [4, 13, 6], [1, 12], 1],
      ['split the last axis in three', [3, 5, 9], 3, -1],
      ['split axis 0 of rank 4', [6, 2, 3, 2], [2, 0, 4], 0],
    ];
    for (const [name, shape, sizes, axis] of splits)
      it(name, () =>
        checkAgainstCpu(
          name,
          (x) =>
            tf.concat(
              tf.split(x!, sizes, axis).map((p, i) => tf.mul(p, i + 1)),
              axis,
            ),
          [shape],
        ),
      );
    it('add int32 (stock kernel)', () => {
      const y = tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.scalar(2, 'int32'));
      expect(y.dtype).toBe('int32');
      expect(Array.from(y.dataSync())).toEqual([3, 4, 5]);
      y.dispose();
    });
    it('slice int32', () => {
      const x = tf.reshape(tf.range(0, 120, 1, 'int32'), [2, 3, 4, 5]);
      const y = tf.slice(x, [1, 1, 0, 2], [1, 2, 3, 2]);
      expect(y.dtype).toBe('int32');
      expect(Array.from(y.dataSync())).toEqual([82, 83, 87, 88, 92, 93, 102, 103, 107, 108, 112, 113]);
      tf.dispose([x, y]);
    });
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['maximum', tf.maximum],
      ['minimum', tf.minimum],
      ['div', tf.div],
      ['add', tf.add],
      ['sub', tf.sub],
      ['mul', tf.mul],
    ];
    const shapes: [string, number[], number[]][] = [
      ['one value right', [3, 7, 5], []],
      ['one value left', [1, 1], [4, 9]],
      ['same shape', [6, 11], [6, 11]],
      ['a row over the last axis right', [2, 3, 5, 7], [7]],
      ['a row over the last axis left', [1, 1, 6], [4, 5, 6]],
      ['broadcast (stock kernel)', [3, 1], [3, 4]],
    ];
    // tfjs's Maximum and Minimum gradients do not reduce broadcast dimensions (on any backend):
    // those compare the forward pass only
    for (const [op, fn] of ops)
      for (const [name, sa, sb] of shapes)
        it(`${op} ${name}`, () =>
          checkAgainstCpu(
            `${op} ${name}`,
            // div: keep the divisor away from 0
            (a, b) => (op === 'div' ? fn(a!, tf.add(tf.abs(b!), 0.5)) : fn(a!, b!)),
            [sa, sb],
            { grad: op === 'div' || op === 'add' || op === 'sub' || op === 'mul' || name === 'same shape' },
          ));
  });

  describe('Reverse', () => {
    const cases: [string, number[], number[]][] = [
      ['channels (BGR swap)', [2, 5, 4, 3], [3]],
      ['width (flip augmentation)', [2, 3, 5, 3], [2]],
      ['wide blocks', [2, 3, 4, 70], [1]],
      ['two axes, inner one last', [3, 4, 5], [0, 2]],
      ['two axes, block after', [3, 4, 5, 2], [0, 1]],
      ['rank 1', [7], [0]],
      ['no axis', [2, 3], []],
      ['all four axes', [2, 3, 4, 5], [0, 1, 2, 3]],
      ['rank 5 (JS loop)', [2, 2, 3, 2, 3], [1, 4]],
    ];
    for (const [name, shape, dims] of cases) {
      it(name, () => checkAgainstCpu(`rev ${name}`, (x) => tf.reverse(x!, dims), [shape]));
    }
    it('int32', () => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
      const y = tf.reverse(x, [0, 1]);
      expect(y.dtype).toBe('int32');
      expect(Array.from(y.dataSync())).toEqual([6, 5, 4, 3, 2, 1]);
      tf.dispose([x, y]);
    });
  });

  describe('UnsortedSegmentSum / gather gradient', () => {
    it('gather rows gradient, repeated indices', () => {
      const idx = tf.tensor1d([3, 1, 3, 0, 4, 4, 4], 'int32');
      checkAgainstCpu('gather', (x) => tf.gather(x!, idx), [[6, 5]]);
      idx.dispose();
    });
    it('gather axis 1', () => {
      const idx = tf.tensor1d([2, 0, 2], 'int32');
      checkAgainstCpu('gather ax1', (x) => tf.gather(x!, idx, 1), [[3, 4, 5]]);
      idx.dispose();
    });
    it('unsortedSegmentSum direct, ids out of range dropped', () => {
      const rng = rngFor('seg');
      const x = randn(rng, [6, 3]);
      const ids = [0, 2, 2, -1, 5, 1];
      const run = (b: string): Float32Array => {
        tf.setBackend(b);
        return tf.tidy(() =>
          Float32Array.from(
            tf.unsortedSegmentSum(tf.tensor(x.data, x.shape), tf.tensor1d(ids, 'int32'), 3).dataSync(),
          ),
        );
      };
      const want = new Float32Array(9);
      ids.forEach((id, i) => {
        if (id >= 0 && id < 3) for (let j = 0; j < 3; j++) want[id * 3 + j]! += x.data[i * 3 + j]!;
      });
      const got = run('wasm');
      tf.setBackend('wasm');
      for (let i = 0; i < 9; i++) expect(got[i]!).toBeCloseTo(want[i]!, 5);
    });
  });

  describe('Transpose', () => {
    it('collapses patchify permutations to rank 4', () => {
      expect(collapseTranspose([2, 7, 16, 7, 16, 3], [0, 1, 3, 2, 4, 5])).toEqual({
        shape: [14, 16, 7, 48],
        perm: [0, 2, 1, 3],
      });
      expect(collapseTranspose([2, 1, 3], [1, 0, 2])).toEqual({ shape: [6], perm: [0] });
    });
    const cases: [string, number[], number[]][] = [
      ['patchify', [2, 3, 4, 3, 4, 3], [0, 1, 3, 2, 4, 5]],
      ['unpatchify', [2, 3, 3, 4, 4, 3], [0, 1, 3, 2, 4, 5]],
      ['rank5 full shuffle', [2, 3, 4, 5, 2], [4, 2, 0, 3, 1]],
      ['rank6 reverse', [2, 3, 2, 3, 2, 2], [5, 4, 3, 2, 1, 0]],
      ['rank4 heads', [2, 5, 3, 4], [0, 2, 1, 3]],
      ['size-1 axes', [1, 4, 1, 3], [2, 3, 0, 1]],
      ['identity-like', [3, 1, 4], [1, 0, 2]],
    ];
    for (const [name, shape, perm] of cases) {
      it(name, () => checkAgainstCpu(`tr ${name}`, (x) => tf.transpose(x!, perm), [shape]));
    }
    it('int32', () => {
      const x = tf.reshape(tf.range(0, 120, 1, 'int32'), [2, 3, 4, 5, 1]);
      const y = tf.transpose(x, [3, 1, 4, 0, 2]);
      tf.setBackend('cpu');
      const ref = tf.transpose(tf.reshape(tf.range(0, 120, 1, 'int32'), [2, 3, 4, 5, 1]), [3, 1, 4, 0, 2]);
      const want = Array.from(ref.dataSync());
      ref.dispose();
      tf.setBackend('wasm');
      expect(Array.from(y.dataSync())).toEqual(want);
      tf.dispose([x, y]);
    });
  });

  describe('Tile', () => {
    const cases: [string, number[], number[]][] = [
      ['batchnorm-grad shape', [1, 1, 1, 5], [3, 4, 2, 1]],
      ['all dims', [2, 3, 2], [2, 3, 2]],
      ['rank1', [4], [3]],
      ['reps 1', [2, 3], [1, 1]],
    ];
    for (const [name, shape, reps] of cases) {
      it(name, () => checkAgainstCpu(`tile ${name}`, (x) => tf.tile(x!, reps), [shape]));
    }
    it('int32 and bool', () => {
      const x = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
      expect(Array.from(tf.tile(x, [2, 2]).dataSync())).toEqual([
        1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4,
      ]);
      const b = tf.tensor1d([true, false], 'bool');
      expect(Array.from(tf.tile(b, [3]).dataSync())).toEqual([1, 0, 1, 0, 1, 0]);
      tf.dispose([x, b]);
    });
  });

  describe('Sum / Mean over leading axes', () => {
    const cases: [string, number[], number[], boolean][] = [
      ['BN stats [0,1,2]', [3, 4, 5, 6], [0, 1, 2], false],
      ['bias grad [0]', [7, 9], [0], false],
      ['keepDims', [3, 4, 5], [0, 1], true],
      ['inner axis (stock)', [3, 4, 5], [2], false],
      ['middle axis (stock)', [3, 4, 5], [1], true],
      ['all axes (stock)', [3, 4], [0, 1], false],
    ];
    for (const [name, shape, axes, keep] of cases) {
      it(`sum ${name}`, () => checkAgainstCpu(`sum ${name}`, (x) => tf.sum(x!, axes, keep), [shape]));
      it(`mean ${name}`, () => checkAgainstCpu(`mean ${name}`, (x) => tf.mean(x!, axes, keep), [shape]));
    }
    it('moments over [N,H,W] (BatchNorm)', () =>
      checkAgainstCpu('moments', (x) => tf.moments(x!, [0, 1, 2]).variance, [[4, 5, 5, 3]]));
  });

  describe('PReLU gradient (fused on wasm)', () => {
    const cases: [string, number[], number[]][] = [
      ['per-channel NHWC', [2, 5, 5, 6], [6]],
      ['scalar alpha', [3, 7], [1]],
      ['2-D per-feature', [4, 9], [9]],
      ['alpha [1,1,C]', [2, 3, 4], [1, 1, 4]],
      ['alpha [H,W,C] (tfjs gradient)', [2, 3, 3, 2], [3, 3, 2]],
    ];
    for (const [name, xs, as] of cases) {
      it(name, () => checkAgainstCpu(`prelu ${name}`, (x, a) => tf.prelu(x!, a!), [xs, as]));
    }
    it('x with +0, -0 and tiny values (the branch-free select)', () => {
      const xs = [0, -0, 1e-30, -1e-30, 2, -3, 0, -0, 5e-45, -5e-45, 0.5, -0.5];
      const dy = xs.map((_, i) => i + 1);
      const run = (backend: string): number[][] => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const x = tf.tensor(xs, [2, 3, 2]);
          const a = tf.tensor([0.25, -0.5]);
          const g = tf.grads((x0: tf.Tensor, a0: tf.Tensor) =>
            tf.sum(tf.mul(tf.prelu(x0, a0), tf.tensor(dy, [2, 3, 2]))),
          );
          return g([x, a]).map((t) => Array.from(t.dataSync()));
        });
      };
      const ref = run('cpu');
      const got = run('wasm');
      expect(got).toEqual(ref);
    });
  });

  describe('BatchNorm gradient (fused on wasm)', () => {
    it('NHWC with scale and offset, statistics as inputs', () =>
      checkAgainstCpu('bn full', (x, m, v, o, g) => tf.batchNorm(x!, m!, tf.abs(v!), o, g, 1e-3), [
        [2, 4, 4, 5],
        [5],
        [5],
        [5],
        [5],
      ]));
    it('moments over [N,H,W] (training mode)', () =>
      checkAgainstCpu(
        'bn train',
        (x, o, g) => {
          const { mean, variance } = tf.moments(x!, [0, 1, 2]);
          return tf.batchNorm(x!, mean, variance, o, g, 1e-5);
        },
        [[3, 4, 5, 6], [6], [6]],
        { tol: 5e-4 },
      ));
    it('2-D (features)', () =>
      checkAgainstCpu(
        'bn 2d',
        (x, o, g) => {
          const { mean, variance } = tf.moments(x!, [0]);
          return tf.batchNorm(x!, mean, variance, o, g, 1e-5);
        },
        [[8, 7], [7], [7]],
        { tol: 5e-4 },
      ));
    it('forward without offset and scale, and with [C] statistics of a 2-D input', () => {
      checkAgainstCpu(
        'bn noscale',
        (x, m, v) => tf.batchNorm(x!, m!, tf.abs(v!), undefined, undefined, 1e-3),
        [[2, 3, 4, 5], [5], [5]],
        { grad: false }, // tfjs cannot save the missing inputs for backprop, on any backend
      );
      checkAgainstCpu('bn 2d stats', (x, m, v, o, g) => tf.batchNorm(x!, m!, tf.abs(v!), o, g, 1e-3), [
        [6, 7],
        [7],
        [7],
        [7],
        [7],
      ]);
    });
    it('odd number of rows (the two-row loop and its tail)', () =>
      checkAgainstCpu(
        'bn odd rows',
        (x, o, g) => {
          const { mean, variance } = tf.moments(x!, [0, 1, 2]);
          return tf.batchNorm(x!, mean, variance, o, g, 1e-5);
        },
        [[3, 3, 5, 6], [6], [6]],
        { tol: 5e-4 },
      ));
  });

  describe('BatchNorm training kernel (batch statistics, own gradient)', () => {
    /** The tfjs composition the kernel replaces (biased variance over all axes but the last). */
    const composed = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor => {
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      const mean = tf.mean(x, axes);
      const variance = tf.mean(tf.square(tf.sub(x, mean)), axes);
      return tf.add(tf.mul(tf.sub(x, mean), tf.mul(tf.rsqrt(tf.add(variance, eps)), g)), b);
    };
    const kernel = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor =>
      batchNormTrain(x, g as tf.Tensor1D, b as tf.Tensor1D, eps).y;
    const cases: [string, number[]][] = [
      ['NHWC', [3, 4, 5, 6]],
      ['2-D (features)', [8, 7]],
      ['one channel', [2, 3, 3, 1]],
      ['several row blocks, channels 8 + a tail of 2', [4, 6, 7, 10]],
    ];
    for (const [name, shape] of cases) {
      const C = shape[shape.length - 1]!;
      it(`${name}: wasm kernel vs the composition on cpu`, () =>
        checkAgainstCpu(`bnt ${name}`, (x, g, b) => kernel(x!, g!, b!, 1e-5), [shape, [C], [C]], {
          tol: 5e-4,
          reference: (x, g, b) => composed(x!, g!, b!, 1e-5),
        }));
      it(`${name}: cpu kernel vs the composition on wasm`, () =>
        checkAgainstCpu(`bnt cpu ${name}`, (x, g, b) => composed(x!, g!, b!, 1e-3), [shape, [C], [C]], {
          tol: 5e-4,
          reference: (x, g, b) => kernel(x!, g!, b!, 1e-3),
        }));
    }
    it('returns the batch mean and biased variance', () => {
      const x = tf.tensor2d([1, 10, 3, 20, 5, 60], [3, 2]);
      const r = batchNormTrain(x, tf.ones([2]) as tf.Tensor1D, tf.zeros([2]) as tf.Tensor1D, 1e-5);
      expect(Array.from(r.mean.dataSync())).toEqual([3, 30]);
      const v = Array.from(r.variance.dataSync());
      expect(v[0]).toBeCloseTo(8 / 3, 5);
      expect(v[1]).toBeCloseTo(1400 / 3, 3);
      for (const t of [x, r.y, r.mean, r.variance]) t.dispose();
    });
  });

  describe('training-shaped compositions', () => {
    it('dense + gelu-like + layernorm-free MLP block', () =>
      checkAgainstCpu(
        'mlp',
        (x, w1, w2) => {
          const h = tf.matMul(tf.reshape(x!, [-1, 8]), w1!);
          const a = tf.mul(h, tf.sigmoid(tf.mul(h, 1.702)));
          return tf.reshape(tf.matMul(a, w2!), [2, 5, 8]);
        },
        [
          [2, 5, 8],
          [8, 16],
          [16, 8],
        ],
      ));
    it('conv + batchnorm + prelu + strided conv', () =>
      checkAgainstCpu(
        'convbn',
        (x, w, g, b, a, w2) => {
          const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
          const { mean, variance } = tf.moments(y, [0, 1, 2]);
          const z = tf.batchNorm(y, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5);
          const p = tf.prelu(z, a!);
          return tf.conv2d(p as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'same');
        },
        [[2, 6, 6, 3], [3, 3, 3, 4], [4], [4], [4], [3, 3, 4, 5]],
        { tol: 5e-4 },
      ));
  });

  describe('tensor leaks', () => {
    it('kernels and their gradients leave no tensors behind', () => {
      const rng = rngFor('leak');
      const x = tf.tensor(randn(rng, [2, 6, 6, 4]).data, [2, 6, 6, 4]);
      const w = tf.tensor(randn(rng, [3, 3, 4, 4]).data, [3, 3, 4, 4]);
      const dw = tf.tensor(randn(rng, [3, 3, 4, 1]).data, [3, 3, 4, 1]);
      const m = tf.tensor(randn(rng, [3, 4, 5]).data, [3, 4, 5]);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
          const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same');
          const z = tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 1, 'same');
          const t = tf.transpose(tf.reshape(d, [3, 2, 2, 5, 1]), [4, 3, 0, 2, 1]);
          const q = tf.matMul(d, d, true, false);
          const gth = tf.gather(d, tf.tensor1d([0, 2], 'int32'));
          return tf.add(tf.add(tf.sum(y), tf.sum(z)), tf.add(tf.add(tf.sum(t), tf.sum(q)), tf.sum(gth)));
        });
        const gs = g([x, w, dw, m]);
        tf.dispose(gs);
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w, dw, m]);
    });
  });
}
