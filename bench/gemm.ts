/**
 * `npm run bench -- gemm [--step fr --backbone r-tiny --input-size 64 | --step mae]`: the GEMMs one
 * product training step makes, each shape timed on one thread and on all, with the thread count
 * `gemmThreads` (src/engine/blas.ts) picks for it. Run it on a quiet machine of a new CPU kind to
 * check the rule there: the `rule` total should be the smallest, or close to it. With the native
 * kernels loaded, each shape of ≥ 64 rows per thread is also timed split by rows over all threads
 * (one BLAS thread per block, FACEMAE_GEMM_SPLIT=rows), and the total of `rule` with that split
 * where it applies.
 */
import os from 'node:os';
import { createRequire } from 'node:module';
import { loadNativeKernels } from '../src/engine/native/index.js';
import { initEngine, loadBlas, gemmThreads, tf, type Gemm } from '../src/engine/index.js';
import { createRng } from '../src/core/rng.js';
import { DEFAULT_TRAIN_FR } from '../src/train/train-face.js';
import { DEFAULT_TRAIN_MAE } from '../src/train/pretrain-mae.js';
import { isBackboneName, BACKBONE_NAMES } from '../src/models/backbones/index.js';
import { setupFrBench } from './fr.js';
import { setupMaeBench } from './mae.js';
import { flags, num, printCpu } from './common.js';

type Call = Parameters<Gemm>;
/** A recorded call: its arguments and its operands' lengths (the views may be detached later, when wasm memory grows). */
interface Recorded {
  n: number;
  call: Call;
  lengths: [number, number, number];
}

export async function benchGemm(argv: string[]): Promise<void> {
  const f = flags(argv, ['step', 'backbone', 'input-size', 'batch'] as const);
  const which = f.get('step') ?? 'fr';
  const backbone = f.get('backbone') ?? 'r-tiny';
  if (!isBackboneName(backbone))
    throw new Error(`--backbone must be one of ${BACKBONE_NAMES.join(', ')} (got "${backbone}")`);
  if (which !== 'fr' && which !== 'mae') throw new Error(`--step must be fr or mae (got "${which}")`);
  const batch = num(f, 'batch', 64);
  const size = num(f, 'input-size', which === 'mae' ? 112 : DEFAULT_TRAIN_FR.inputSize);
  printCpu();
  const max = Math.max(2, os.availableParallelism());
  const blas = loadBlas(max);
  if (!blas) throw new Error('no native BLAS: nothing to measure');
  // Record the shapes of one step (after a warm-up step) by wrapping the GEMM before the engine
  // registers its kernels with it.
  const gemm = blas.sgemm;
  const calls = new Map<string, Recorded>();
  let recording = false;
  blas.sgemm = (...a: Call) => {
    gemm(...a);
    if (!recording) return;
    const key = `${a[0] ? 'T' : 'N'}${a[1] ? 'T' : 'N'} ${a[2]}x${a[3]}x${a[4]}`;
    const r = calls.get(key) ?? { n: 0, call: a, lengths: [a[6].length, a[8].length, a[11].length] };
    r.n++;
    calls.set(key, r);
  };
  await initEngine({ threads: max }); // registers the wrapper: loadBlas returns the same object
  const rng = createRng(0);
  const images = tf.tensor4d(rng.uniformArray(batch * size * size * 3), [batch, size, size, 3]);
  if (which === 'mae') {
    const b = setupMaeBench({ ...DEFAULT_TRAIN_MAE, batchSize: batch }, null);
    await b.run(images, 0);
    recording = true;
    await b.run(images, 1);
    b.dispose();
  } else {
    const b = setupFrBench({ ...DEFAULT_TRAIN_FR, backbone, inputSize: size, batchSize: batch }, 1000);
    const labels = Int32Array.from({ length: batch }, (_, i) => i);
    await b.run(images, labels, 0);
    recording = true;
    await b.run(images, labels, 1);
    b.dispose();
  }
  recording = false;
  images.dispose();
  blas.sgemm = gemm;
  // Time each shape on exactly 1 and `max` threads: with the per-shape rule on, the "all threads"
  // column of a thin shape would silently run on one.
  const perShape = blas.perShapeThreads;
  blas.perShapeThreads = false;
  const time = ({ call, lengths }: Recorded, threads: number): number => {
    const [ta, tb, m, n, k, alpha, , lda, , ldb, beta, , ldc] = call;
    const [A, B, C] = [
      new Float32Array(lengths[0]).fill(0.5),
      new Float32Array(lengths[1]).fill(0.5),
      new Float32Array(lengths[2]),
    ];
    loadBlas(threads);
    const reps = Math.max(3, Math.min(50, Math.round(1e8 / (m * n * k))));
    gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    return (performance.now() - t0) / reps;
  };
  const rowsGemm = loadNativeKernels(max, blas.library)?.sgemmRows ?? null;
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  /** The shape split by rows over `max` threads (one BLAS thread each), or NaN where it does not apply. */
  const timeRows = ({ call, lengths }: Recorded): number => {
    const [ta, tb, m, n, k, alpha, , lda, , ldb, beta, , ldc] = call;
    if (!rowsGemm || m < 64 * max || m * n * k < 1 << 20) return NaN;
    // operands ≥ 64 KB: their memory is outside V8's heap and does not move
    const ops = lengths.map((l) => new Float32Array(Math.max(l, 1 << 14)).fill(0.5));
    const at = (a: Float32Array) => Number(koffi.address(a.buffer));
    const [pa, pb, pc] = ops.map(at) as [number, number, number];
    loadBlas(1);
    const run = () => rowsGemm(ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, max);
    run();
    const reps = Math.max(3, Math.min(50, Math.round(1e8 / (m * n * k))));
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    return (performance.now() - t0) / reps;
  };
  let [one, all, rule, split] = [0, 0, 0, 0];
  const rows: [number, string][] = [];
  for (const [key, r] of calls) {
    const { n, call } = r;
    const t1 = time(r, 1);
    const tn = time(r, max);
    const tr = timeRows(r);
    const pick = gemmThreads(call[2], call[3], call[4], max);
    one += n * t1;
    all += n * tn;
    rule += n * (pick === 1 ? t1 : tn);
    split += n * (Number.isNaN(tr) ? (pick === 1 ? t1 : tn) : tr);
    rows.push([
      n * Math.max(t1, tn),
      `${key.padEnd(22)} ×${String(n).padStart(4)}  1 thread ${t1.toFixed(2).padStart(7)} ms  ${max} threads ${tn.toFixed(2).padStart(7)} ms  ` +
        `rows/${max} ${Number.isNaN(tr) ? '      -' : tr.toFixed(2).padStart(7)} ms  rule: ${pick}`,
    ]);
  }
  loadBlas(max);
  blas.perShapeThreads = perShape;
  rows.sort((x, y) => y[0] - x[0]);
  for (const [, line] of rows) console.log(line);
  const label = which === 'mae' ? 'mae' : `fr ${backbone} at ${size}px`;
  console.log(
    `gemm per step (${label}, batch ${batch}): 1 thread ${one.toFixed(0)} ms, ${max} threads ${all.toFixed(0)} ms, rule ${rule.toFixed(0)} ms` +
      (rowsGemm ? `, rule with the row split where it applies ${split.toFixed(0)} ms` : ''),
  );
}
