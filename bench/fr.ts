/**
 * `npm run bench -- fr --backbone r-tiny|r18-half|r18|...`: the train-fr step, ours vs PyTorch.
 * Ours is the product's own code: backbone, cosine classifier, combined margin and cross-entropy
 * from src/train/fr-step.ts (src/models/backbones, src/models/heads, src/losses), applied by the
 * loop's `trainStep` with the src/train optimizer (SGD momentum, clip) at train-fr's defaults, the
 * whole batch in one step as train-fr runs it. The peer (bench/peers/fr.py) builds the same
 * IResNet (or MobileFace) from the registry's architecture (BACKBONE_ARCHS) with the same head,
 * loss and SGD.
 *
 * `npm run bench -- parrot` is the same step as the parrot attacker fine-tunes it
 * (src/attack/parrot.ts `trainParrot`): the mobileface backbone at 112 px, 256-d, batch 64,
 * ArcFace margin, SGD at the parrot's learning rate. (Its pretrained start is not loaded: the
 * weights' values do not change the step's cost.)
 */
import { initEngine, tf, formatKernelProfile } from '../src/engine/index.js';
import { createRng } from '../src/core/rng.js';
import type { FaceBatch } from '../src/types.js';
import { BACKBONE_ARCHS, BACKBONE_NAMES, isBackboneName } from '../src/models/backbones/index.js';
import { DEFAULT_TRAIN_FR, type TrainFrConfig } from '../src/train/train-face.js';
import { MOBILEFACE_DIM } from '../src/models/backbones/mobileface.js';
import { DEFAULT_PARROT } from '../src/attack/parrot.js';
import { createFrTraining, type FrStepFields, type FrTraining } from '../src/train/fr-step.js';
import { createOptimizer, type TrainOptimizer } from '../src/train/optimizer.js';
import { trainStep, type AppliedStep } from '../src/train/trainer.js';
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

/** The FR step as train-fr runs it, with its optimizer. */
export interface FrBench {
  readonly training: FrTraining;
  readonly opt: TrainOptimizer;
  /** One step on `images` [N,S,S,3] with `labels` [N] at `lr` (default the config's peak lr). */
  run(images: tf.Tensor4D, labels: Int32Array, step: number, lr?: number): Promise<AppliedStep<FrStepFields>>;
  dispose(): void;
}

/**
 * Builds what `trainFaceRecognizer` builds for `cfg` and `numClasses` identities (weights from
 * `createRng(cfg.seed)`, the same optimizer settings), without data, output folder or verification.
 */
export function setupFrBench(cfg: TrainFrConfig, numClasses: number): FrBench {
  const training = createFrTraining(cfg, numClasses, createRng(cfg.seed));
  const opt = createOptimizer(training.params, training.optimizer);
  return {
    training,
    opt,
    run(images, labels, step, lr = cfg.lr) {
      const batch: FaceBatch = { images, labels, records: [] };
      return trainStep(training, opt, images, batch, step, lr);
    },
    dispose() {
      opt.dispose();
      training.dispose();
    },
  };
}

const FLAGS = [
  'backbone',
  'input-size',
  'classes',
  'batch',
  'steps',
  'warmup',
  'rounds',
  'seed',
  'blas',
  'peer',
] as const;

/** What `fr` and `parrot` differ in. */
interface FrBenchDefaults {
  label: 'fr' | 'parrot';
  backbone: string;
  lr: number;
  batch: number;
}

const FR_DEFAULTS: FrBenchDefaults = {
  label: 'fr',
  backbone: 'r18-half',
  lr: DEFAULT_TRAIN_FR.lr,
  batch: 64,
};

/** `npm run bench -- parrot`: the parrot attacker's fine-tuning step (see the header). */
export function benchParrot(argv: string[]): Promise<void> {
  return benchFr(argv, {
    label: 'parrot',
    backbone: 'mobileface',
    lr: DEFAULT_PARROT.lr,
    batch: DEFAULT_PARROT.batchSize,
  });
}

export async function benchFr(argv: string[], defaults: FrBenchDefaults = FR_DEFAULTS): Promise<void> {
  const f = flags(argv, FLAGS);
  const label = defaults.label;
  const backbone = f.get('backbone') ?? defaults.backbone;
  if (!isBackboneName(backbone))
    throw new Error(`--backbone must be one of ${BACKBONE_NAMES.join(', ')} (got "${backbone}")`);
  const batch = num(f, 'batch', defaults.batch);
  const steps = num(f, 'steps', 3);
  const warmup = num(f, 'warmup', 1);
  const rounds = num(f, 'rounds', 1);
  const classes = num(f, 'classes', 1000);
  const seed = num(f, 'seed', DEFAULT_TRAIN_FR.seed);
  const inputSize = num(f, 'input-size', DEFAULT_TRAIN_FR.inputSize);
  printCpu();
  const info = await initEngine({ backend: 'wasm', ...engineOptions(f) });
  const arch = BACKBONE_ARCHS[backbone];
  const cfg: TrainFrConfig = {
    ...DEFAULT_TRAIN_FR,
    backbone,
    inputSize,
    batchSize: batch,
    seed,
    lr: defaults.lr,
    // the mobileface network is fixed at 256-d (its pretrained weights), as trainParrot sets it
    embeddingDim: arch.kind === 'mobileface' ? MOBILEFACE_DIM : DEFAULT_TRAIN_FR.embeddingDim,
  };
  const bench = setupFrBench(cfg, classes);
  const oc = bench.opt.config;
  const m = cfg.margin;
  console.log(
    `${label}: the ${label === 'parrot' ? "parrot attacker's fine-tuning" : 'train-fr'} step (src/train/fr-step.ts + trainStep), ${backbone} (${JSON.stringify(arch)}) at ${inputSize}px -> ` +
      `${cfg.embeddingDim}-d, margin s=${m.s} m1=${m.m1} m2=${m.m2} m3=${m.m3} over ${classes} classes, batch ${batch} in one step; ` +
      `${oc.kind.toUpperCase()} lr ${cfg.lr} momentum ${oc.momentum} wd ${oc.weightDecay} clip ${oc.clipNorm}`,
  );
  console.log(`${engineLine(info)}; ${warmup} warm-up + ${steps} timed steps`);
  // A new batch every step, made before the clock starts: one batch repeated is memorised by
  // the margin head within a few steps (loss 0), which would make the loss line meaningless.
  const rng = createRng(seed);
  const ri = rng.fork('bench-images');
  const rl = rng.fork('bench-labels');
  const batches = Array.from({ length: warmup + steps * rounds }, () => ({
    images: tf.tensor4d(ri.uniformArray(batch * inputSize * inputSize * 3), [batch, inputSize, inputSize, 3]),
    labels: Int32Array.from({ length: batch }, () => rl.int(classes)),
  }));
  const peerRun =
    f.get('peer') === 'off'
      ? null
      : arch.kind === 'mobilefacenet'
        ? () => {
            console.log(`peer: no PyTorch peer for ${arch.kind} backbones yet`);
            return null;
          }
        : () => {
            const peer = runPeer('fr', {
              arch,
              inputSize,
              embedding: cfg.embeddingDim,
              classes,
              batch,
              steps,
              warmup,
              threads: info.threads,
              margin: m,
              lr: cfg.lr,
              sgd: { momentum: oc.momentum, weightDecay: oc.weightDecay, clipNorm: oc.clipNorm },
            });
            if (peer) {
              console.log(
                `pytorch ${String(peer.torch)}: ${String(peer.params)} parameters, loss ${Number(peer.loss).toFixed(4)}, threads ${String(peer.threads)}`,
              );
            }
            return peer;
          };
  const { ours, peers } = await alternate(
    rounds,
    async (r) => {
      const base = r === 0 ? 0 : warmup + r * steps;
      const { result, last } = await timeTrainSteps(
        label,
        (i) => bench.run(batches[base + i]!.images, batches[base + i]!.labels, base + i),
        batch,
        r === 0 ? warmup : 0,
        steps,
      );
      console.log(
        `ours: ${bench.training.backbone.numParams() + bench.training.head.weight.size} parameters, ` +
          `loss ${last?.loss.toFixed(4)}, tensors ${tf.memory().numTensors}`,
      );
      if (process.env.FACEMAE_PROFILE === '1') console.log(formatKernelProfile(30));
      return result;
    },
    peerRun,
  );
  bench.dispose();
  for (const b of batches) b.images.dispose();
  reportRounds(label, ours, peers);
}
