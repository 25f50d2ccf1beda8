/**
 * `npm run bench -- soak [--steps 1000] [--every 100]`: many small training steps, the train-mae
 * and train-fr steps (bench/mae.ts, bench/fr.ts) at toy sizes, alternating, through every engine
 * kernel; prints tensor count and RSS at intervals and whether they stay flat after the first
 * interval.
 */
import { initEngine, tf } from '../src/engine/index.js';
import { createRng } from '../src/core/rng.js';
import { DEFAULT_TRAIN_MAE } from '../src/train/pretrain-mae.js';
import { DEFAULT_TRAIN_FR } from '../src/train/train-face.js';
import { engineOptions, flags, num, printCpu } from './common.js';
import { setupMaeBench } from './mae.js';
import { setupFrBench } from './fr.js';
import { TINY_TEST } from '../tests/mae/helpers.js';

export async function benchSoak(argv: string[]): Promise<void> {
  const f = flags(argv, ['steps', 'every', 'blas']);
  const steps = num(f, 'steps', 1000);
  const every = num(f, 'every', 100);
  printCpu();
  const info = await initEngine({ backend: 'wasm', ...engineOptions(f) });
  // the product's steps (bench/mae.ts, bench/fr.ts) at toy sizes: the tests' MAE, r-tiny at 32 px
  const mae = setupMaeBench(
    {
      ...DEFAULT_TRAIN_MAE,
      model: { ...TINY_TEST, preset: null },
      seed: 3,
    },
    null,
  );
  const fr = setupFrBench(
    { ...DEFAULT_TRAIN_FR, backbone: 'r-tiny', inputSize: 32, embeddingDim: 16, seed: 3 },
    10,
  );
  const rng = createRng(3);
  const imgs = tf.tensor4d(rng.fork('x').uniformArray(4 * 32 * 32 * 3), [4, 32, 32, 3]);
  const labels = Int32Array.from([0, 3, 5, 9]);
  console.log(
    `soak: ${steps} steps (the train-mae and train-fr steps at toy sizes, alternating), BLAS ${info.blas ?? 'off'}`,
  );
  const samples: { step: number; tensors: number; rssMb: number; wasmMb: number }[] = [];
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) {
    if (s % 2) await mae.run(imgs, s, 1e-3);
    else await fr.run(imgs, labels, s, 0.01);
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
  fr.dispose();
  imgs.dispose();
  if (!(tensorsFlat && rssFlat)) process.exitCode = 1;
}
