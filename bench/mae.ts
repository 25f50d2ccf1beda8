/**
 * `npm run bench -- mae` and `npm run bench -- irm`: the train-mae step, ours vs PyTorch.
 * Ours is the product's own code: the MAE and its step from src/train/mae-step.ts (src/models/mae,
 * src/losses), applied by the loop's `trainStep` with the src/train optimizer (AdamW, clip) at
 * train-mae's defaults. `irm` adds the IRM term through the frozen faceplugin teacher, as
 * `train-mae --irm-teacher faceplugin`. The peer (bench/peers/mae.py) is the same network, loss,
 * masking and optimizer in PyTorch; for `irm` it runs the same ONNX teacher graph with its weights.
 */
import fs from 'node:fs';
import os from 'node:os';
import { initEngine, tf, formatKernelProfile } from '../src/engine/index.js';
import { createRng } from '../src/core/rng.js';
import type { FaceBatch, FaceNet } from '../src/types.js';
import { DEFAULT_MAE_SPEC, MAE_PRESETS, type MaePresetName } from '../src/models/mae/config.js';
import { DEFAULT_TRAIN_MAE, type TrainMaeConfig } from '../src/train/pretrain-mae.js';
import { createMaeTraining, type MaeStepFields, type MaeTraining } from '../src/train/mae-step.js';
import { createOptimizer, type TrainOptimizer } from '../src/train/optimizer.js';
import { trainStep, type AppliedStep } from '../src/train/trainer.js';
import { FACEPLUGIN_MODEL, loadFaceNet } from '../src/loaders/face-net.js';
import {
  alternate,
  engineOptions,
  flags,
  num,
  printCpu,
  engineLine,
  reportRounds,
  runPeer,
  timeTrainSteps,
} from './common.js';
import { onnxTeacherForPeer } from './teacher.js';

/** The MAE step as train-mae runs it, with its optimizer, on a given batch. */
export interface MaeBench {
  readonly training: MaeTraining;
  readonly opt: TrainOptimizer;
  /** One step (loss, gradients, update at `lr`, default the config's peak lr); `images` are not disposed. */
  run(images: tf.Tensor4D, step: number, lr?: number): Promise<AppliedStep<MaeStepFields>>;
  dispose(): void;
}

/**
 * Builds what `trainMae` builds for `cfg` (weights from `createRng(cfg.seed)`, the same optimizer
 * settings), without the data set, output folder or sample grids. `teacher` turns IRM on.
 */
export function setupMaeBench(cfg: TrainMaeConfig, teacher: FaceNet | null): MaeBench {
  const training = createMaeTraining(cfg, createRng(cfg.seed), teacher);
  const opt = createOptimizer(training.params, training.optimizer);
  return {
    training,
    opt,
    run(images, step, lr = cfg.lr) {
      const batch: FaceBatch = { images, labels: new Int32Array(images.shape[0]), records: [] };
      return trainStep(training, opt, images, batch, step, lr);
    },
    dispose() {
      opt.dispose();
      training.dispose();
    },
  };
}

const FLAGS = ['batch', 'steps', 'warmup', 'rounds', 'preset', 'seed', 'blas', 'peer'] as const;

/**
 * Multiply-add FLOPs of one image's training step (forward + backward ≈ 3 × the forward's
 * matrix products: patch embedding, every block's q/k/v/projection/MLP and attention products,
 * the decoder embedding and the prediction head); element-wise work is not counted.
 */
export function maeStepFlopsPerImage(
  mc: {
    imageSize: number;
    patchSize: number;
    dim: number;
    depth: number;
    decoderDim: number;
    decoderDepth: number;
    mlpRatio: number;
  },
  maskRatio: number,
): number {
  const L = (mc.imageSize / mc.patchSize) ** 2;
  const pd = mc.patchSize ** 2 * 3;
  const keep = Math.max(1, Math.floor(L * (1 - maskRatio)));
  const block = (tokens: number, w: number) =>
    tokens * (4 + 2 * mc.mlpRatio) * w * w + 2 * tokens * tokens * w;
  const macs =
    keep * pd * mc.dim +
    mc.depth * block(keep + 1, mc.dim) +
    (keep + 1) * mc.dim * mc.decoderDim +
    mc.decoderDepth * block(L + 1, mc.decoderDim) +
    (L + 1) * mc.decoderDim * pd;
  return 3 * 2 * macs;
}

/** The machine's fp32 limit, GFLOP/s: FACEMAE_PEAK_GFLOPS, else cores × 32 FLOP/cycle (two 8-wide FMA units) × the clock in /proc/cpuinfo. */
function peakGflops(): { gflops: number; basis: string } | null {
  const env = Number(process.env.FACEMAE_PEAK_GFLOPS);
  if (env > 0) return { gflops: env, basis: 'FACEMAE_PEAK_GFLOPS' };
  let mhz = 0;
  try {
    mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 0);
  } catch {
    return null;
  }
  if (!(mhz > 0)) return null;
  const cores = os.availableParallelism();
  return {
    gflops: (cores * 32 * mhz) / 1000,
    basis: `${cores} cores × 32 FLOP/cycle × ${(mhz / 1000).toFixed(2)} GHz (/proc/cpuinfo; set FACEMAE_PEAK_GFLOPS to use another limit)`,
  };
}

export async function benchMae(argv: string[], opts: { irm: boolean }): Promise<void> {
  const f = flags(argv, FLAGS);
  const name = opts.irm ? 'irm' : 'mae';
  const batch = num(f, 'batch', 64);
  const steps = num(f, 'steps', 5);
  const warmup = num(f, 'warmup', 2);
  const seed = num(f, 'seed', DEFAULT_TRAIN_MAE.seed);
  const rounds = num(f, 'rounds', 1);
  const preset = (f.get('preset') ?? DEFAULT_MAE_SPEC.preset ?? 'tiny') as MaePresetName;
  if (!(preset in MAE_PRESETS))
    throw new Error(`--preset must be one of ${Object.keys(MAE_PRESETS).join(', ')} (got "${preset}")`);
  if (opts.irm && !fs.existsSync(FACEPLUGIN_MODEL)) {
    console.log(
      `irm: skipped: the IRM teacher ${FACEPLUGIN_MODEL} is missing (it ships in assets/; restore it with git checkout)`,
    );
    return;
  }
  printCpu();
  const info = await initEngine({ backend: 'wasm', ...engineOptions(f) });
  const cfg: TrainMaeConfig = {
    ...DEFAULT_TRAIN_MAE,
    model: { ...DEFAULT_MAE_SPEC, preset },
    batchSize: batch,
    seed,
    irm: { ...DEFAULT_TRAIN_MAE.irm, teacher: opts.irm ? 'faceplugin' : null },
  };
  const teacher = opts.irm ? await loadFaceNet('faceplugin') : null;
  const bench = setupMaeBench(cfg, teacher);
  const mc = bench.training.mae.config;
  const oc = bench.opt.config;
  console.log(
    `${name}: the train-mae step (src/train/mae-step.ts + trainStep), preset ${preset}: ${mc.imageSize}px patch ${mc.patchSize}, ` +
      `enc ${mc.dim}-d x${mc.depth} (${mc.heads} heads), dec ${mc.decoderDim}-d x${mc.decoderDepth} (${mc.decoderHeads} heads), ` +
      `mlp x${mc.mlpRatio}, mask ${cfg.maskRatio}, loss masked MSE` +
      (teacher
        ? ` + ${cfg.irm.weight}·IRM (faceplugin teacher ${teacher.inputSize}px -> ${teacher.embeddingDim}-d, τ ${cfg.irm.temperature}, ${cfg.irm.direction})`
        : '') +
      `; batch ${batch}; AdamW lr ${cfg.lr} β ${oc.beta1}/${oc.beta2} wd ${oc.weightDecay} clip ${oc.clipNorm}`,
  );
  console.log(`${engineLine(info)}; ${warmup} warm-up + ${steps} timed steps`);
  const images = tf.tensor4d(
    createRng(seed)
      .fork('bench-images')
      .uniformArray(batch * mc.imageSize ** 2 * 3),
    [batch, mc.imageSize, mc.imageSize, 3],
  );
  const t = opts.irm && f.get('peer') !== 'off' ? onnxTeacherForPeer('faceplugin') : null;
  const peerRun = () => {
    const peer = runPeer(
      'mae',
      {
        model: mc,
        batch,
        steps,
        warmup,
        threads: info.threads,
        maskRatio: cfg.maskRatio,
        lr: cfg.lr,
        adamw: {
          beta1: oc.beta1,
          beta2: oc.beta2,
          eps: oc.eps,
          weightDecay: oc.weightDecay,
          clipNorm: oc.clipNorm,
        },
        irm: t ? { ...cfg.irm, teacher: t.graph } : null,
      },
      t?.weights,
    );
    if (peer)
      console.log(
        `pytorch ${String(peer.torch)}: ${String(peer.params)} parameters, loss ${Number(peer.loss).toFixed(4)}, threads ${String(peer.threads)}`,
      );
    return peer;
  };
  let lastStep: AppliedStep<MaeStepFields> | null = null;
  const { ours, peers } = await alternate(
    rounds,
    async (r) => {
      const base = r === 0 ? 0 : warmup + r * steps;
      const { result, last } = await timeTrainSteps(
        name,
        (i) => bench.run(images, base + i),
        batch,
        r === 0 ? warmup : 0,
        steps,
      );
      lastStep = last;
      const ls = lastStep as AppliedStep<MaeStepFields> | null;
      console.log(
        `ours: ${bench.training.mae.numParams()} parameters, loss ${ls?.loss.toFixed(4)} ` +
          `(mse ${ls?.fields.mse?.toFixed(4)}${ls?.fields.irm != null ? `, irm ${ls.fields.irm.toFixed(4)}` : ''}), ` +
          `tensors ${tf.memory().numTensors}`,
      );
      if (process.env.FACEMAE_PROFILE === '1') console.log(formatKernelProfile(30));
      return result;
    },
    f.get('peer') === 'off' ? null : peerRun,
  );
  bench.dispose();
  teacher?.dispose();
  images.dispose();
  reportRounds(name, ours, peers);
  const gf = maeStepFlopsPerImage(mc, cfg.maskRatio) / 1e9;
  const best = [...ours].sort((a, b) => a.imgPerSec - b.imgPerSec)[ours.length >> 1]!;
  const peak = peakGflops();
  console.log(
    `flops: ${gf.toFixed(3)} GFLOP per image (matrix products, forward + backward${opts.irm ? ', without the IRM teacher' : ''}); ` +
      `ours ${(gf * best.imgPerSec).toFixed(1)} GFLOP/s` +
      (peak
        ? ` = ${((100 * gf * best.imgPerSec) / peak.gflops).toFixed(0)}% of the fp32 limit ${peak.gflops.toFixed(0)} GFLOP/s (${peak.basis})`
        : ''),
  );
}
