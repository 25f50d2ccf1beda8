/**
 * `npm run bench -- soak [--steps 1000] [--every 100]`: many small training steps of a tiny
 * ViT-MAE and a tiny IResNet (alternating) through every engine kernel; prints tensor count and
 * RSS at intervals and whether they stay flat after the first interval.
 */
import { initEngine, tf } from '../src/engine/index.js';
import { createRng } from '../src/core/rng.js';
import { createMaeBench } from './models/mae.js';
import { createIResNetBench } from './models/iresnet.js';
import { createOptimizer } from './models/params.js';
import { flags, num } from './common.js';

export async function benchSoak(argv: string[]): Promise<void> {
  const f = flags(argv);
  const steps = num(f, 'steps', 1000);
  const every = num(f, 'every', 100);
  const info = await initEngine({ blas: f.get('blas') === 'off' ? 'off' : 'auto' });
  const rng = createRng(3);
  const mae = createMaeBench(
    { img: 32, patch: 8, dim: 32, depth: 2, heads: 2, decDim: 16, decDepth: 1, decHeads: 2, maskRatio: 0.75 },
    rng.fork('mae'),
  );
  const net = createIResNetBench(
    { arch: 'r10', layers: [1, 1, 1, 1], widths: [8, 8, 16, 16], img: 32, embedding: 16, classes: 10 },
    rng.fork('net'),
  );
  const optA = createOptimizer(mae.params, 'adamw', { lr: 1e-3, wd: 0.05 });
  const optB = createOptimizer(net.params, 'sgd', { lr: 0.01, wd: 5e-4, momentum: 0.9 });
  const imgs = tf.tensor4d(rng.fork('x').uniformArray(4 * 32 * 32 * 3), [4, 32, 32, 3]);
  const labels = tf.tensor1d([0, 3, 5, 9], 'int32');
  const noiseRng = rng.fork('noise');
  const varsA = [...mae.params.vars.values()];
  const varsB = [...net.params.vars.values()];
  console.log(`soak: ${steps} steps (tiny MAE and IResNet alternating), BLAS ${info.blas ?? 'off'}`);
  const samples: { step: number; tensors: number; rssMb: number; wasmMb: number }[] = [];
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) {
    if (s % 2) {
      const noise = noiseRng.uniformArray(4 * 16);
      const { value, grads } = tf.variableGrads(() => mae.loss(imgs, noise), varsA);
      optA.step(grads);
      tf.dispose([value, ...Object.values(grads)]);
    } else {
      const { value, grads } = tf.variableGrads(() => net.loss(imgs, labels), varsB);
      optB.step(grads);
      tf.dispose([value, ...Object.values(grads)]);
    }
    if (s % every === 0) {
      const m = tf.memory();
      const sample = {
        step: s,
        tensors: m.numTensors,
        rssMb: process.memoryUsage().rss / 2 ** 20,
        wasmMb: m.numBytes / 2 ** 20,
      };
      samples.push(sample);
      console.log(
        `step ${String(s).padStart(5)}: tensors ${sample.tensors}, tensor MB ${sample.wasmMb.toFixed(2)}, ` +
          `RSS ${sample.rssMb.toFixed(0)} MB, ${((performance.now() - t0) / s).toFixed(1)} ms/step`,
      );
    }
  }
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last) {
    console.log('soak: too few steps to judge (use --steps ≥ 2×--every)');
    return;
  }
  const tensorsFlat = samples.every((x) => x.tensors === first.tensors);
  const rssGrowth = last.rssMb - first.rssMb;
  // RSS is judged flat if it grew < 5% (+16 MB for allocator/JIT noise) after the first interval
  const rssFlat = rssGrowth < first.rssMb * 0.05 + 16;
  console.log(`tensors: ${tensorsFlat ? 'flat' : 'GROWING'} (${first.tensors} -> ${last.tensors})`);
  console.log(
    `rss: ${rssFlat ? 'flat' : 'GROWING'} (${first.rssMb.toFixed(0)} -> ${last.rssMb.toFixed(0)} MB)`,
  );
  console.log(`soak: ${tensorsFlat && rssFlat ? 'PASS' : 'FAIL'}`);
  mae.dispose();
  net.dispose();
  optA.dispose();
  optB.dispose();
  tf.dispose([imgs, labels]);
  if (!(tensorsFlat && rssFlat)) process.exitCode = 1;
}
