/**
 * The face-recognition training step (backbone → cosine classifier → combined margin →
 * cross-entropy) and what the loop needs around it. `trainFaceRecognizer` builds it once per run;
 * `npm run bench -- fr` builds the same thing, so the bench times what training runs.
 */
import { tf } from '../engine/backend.js';
import type { Rng } from '../core/rng.js';
import type { FaceBatch } from '../types.js';
import { createBackbone, type FaceBackbone } from '../models/backbones/index.js';
import { createCosineClassifier, type CosineClassifier } from '../models/heads/cosine-classifier.js';
import { combinedMargin, type MarginConfig } from '../losses/margin.js';
import { crossEntropy, top1Accuracy } from '../losses/cross-entropy.js';
import type { OptimizerKind } from './optimizer.js';
import type { ScheduleKind } from './schedule.js';
import type { StepOutput, TrainerModel } from './trainer.js';

/** The keys of a train-fr config the step depends on (TrainFrConfig has them all). */
export interface FrStepConfig {
  /** Registry name: r18, r50, r-tiny, mbf, ... */
  backbone: string;
  embeddingDim: number;
  inputSize: number;
  margin: MarginConfig;
  optimizer: OptimizerKind;
  /** Peak `lr` (arcface_torch: 0.1 for SGD at batch 128 per GPU), warm-up then this decay. */
  schedule: Extract<ScheduleKind, 'cosine' | 'poly'>;
  weightDecay: number;
  momentum: number;
  /** Global gradient-norm clip (arcface_torch: 5; 0 = off). */
  clipNorm: number;
}

/** Per-step values logged as their mean over the logging window. */
export interface FrStepFields {
  /** Top-1 accuracy of the raw cosines (before the margin). */
  acc: number;
}

/** The recognizer with its step, as the training loop (and the bench) runs it. */
export interface FrTraining extends Pick<
  TrainerModel<FrStepFields>,
  'imageSize' | 'params' | 'state' | 'optimizer' | 'schedule' | 'step'
> {
  readonly backbone: FaceBackbone;
  readonly head: CosineClassifier;
  dispose(): void;
}

/**
 * Builds backbone (`root.fork('backbone')`) and class centres (`root.fork('head')`) for
 * `numClasses` identities, and the step: images [N,S,S,3] in [0,1] with `batch.labels` [N] →
 * loss, gradients of backbone and head, and the batch's top-1 accuracy.
 */
export function createFrTraining(cfg: FrStepConfig, numClasses: number, root: Rng): FrTraining {
  const backbone = createBackbone(cfg.backbone, root.fork('backbone'), {
    embeddingDim: cfg.embeddingDim,
    inputSize: cfg.inputSize,
  });
  let head: CosineClassifier;
  try {
    head = createCosineClassifier(cfg.embeddingDim, numClasses, root.fork('head'));
  } catch (e) {
    backbone.dispose();
    throw e;
  }
  const params: Record<string, tf.Variable> = { ...backbone.params, 'head.weight': head.weight };
  const vars = Object.values(params);
  return {
    backbone,
    head,
    imageSize: cfg.inputSize,
    params,
    state: { ...params, ...backbone.buffers },
    optimizer: {
      kind: cfg.optimizer,
      weightDecay: cfg.weightDecay,
      momentum: cfg.momentum,
      clipNorm: cfg.clipNorm,
    },
    schedule: { kind: cfg.schedule, power: 2 },
    async step(x: tf.Tensor4D, batch: FaceBatch): Promise<StepOutput<FrStepFields>> {
      let cosT: tf.Tensor2D | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const cos = head.apply(backbone.apply(x, true));
        cosT = tf.keep(cos);
        return crossEntropy(combinedMargin(cos, batch.labels, cfg.margin), batch.labels);
      }, vars);
      const loss = (await value.data())[0] as number;
      const cosData = (await (cosT as unknown as tf.Tensor2D).data()) as Float32Array;
      value.dispose();
      (cosT as unknown as tf.Tensor2D).dispose();
      return { loss, grads, fields: {}, means: { acc: top1Accuracy(cosData, batch.labels, numClasses) } };
    },
    dispose() {
      backbone.dispose();
      head.dispose();
    },
  };
}
