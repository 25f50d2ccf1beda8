/**
 * The sweep's dependencies (the interface, injectable so tests can run a tiny fake sweep) and their
 * real implementations: the library's typed entry points for training the MAE and the
 * recognizers, reconstruction, embedders and verification. The sweep's training sections are
 * partial configs merged onto the trainers' defaults (config/resolve.ts's mergeConfig); the sweep
 * itself sets the data, output folder, seed and image size.
 */
import { mergeConfig } from '../config/resolve.js';
import { readVerificationSet, type VerificationSet } from '../data/verification-set.js';
import { protectDataset } from '../protect/protect-dataset.js';
import { createEmbedder } from '../loaders/embedders.js';
import { verifyModel } from '../loaders/verify-model.js';
import { hasCheckpoint } from '../data/checkpoint.js';
import { DEFAULT_TRAIN_MAE, trainMae, type TrainMaeConfig } from '../train/pretrain-mae.js';
import { DEFAULT_TRAIN_FR, trainFaceRecognizer, type TrainFrConfig } from '../train/train-face.js';
import type { UtilityFigures } from '../report/types.js';
import type { OnProgress, Embedder } from '../types.js';
import type { MaeTrainSection, RecognizerSection } from './config.js';

/** A trained run: its folder, and its training steps when the trainer says. */
export type TrainedRun = { run: string; steps?: number };

/** The other areas' functions the sweep calls. */
export interface SweepDeps {
  trainMae(a: {
    data: string;
    out: string;
    teacher: string;
    config: MaeTrainSection;
    seed: number;
    size: number;
    onProgress?: OnProgress;
  }): Promise<{ run: string }>;
  /** Writes a release into `out` (data/release.ts: images/<identity>/<file>; manifest.jsonl with each image's kept patches, when written). */
  reconstruct(a: {
    run: string;
    data: string;
    out: string;
    maskRatio: number;
    /** The release knob (undefined: 1, pasted back). */
    pasteBack?: number;
    seed: number;
    size: number;
    onProgress?: OnProgress;
  }): Promise<void>;
  trainRecognizer(a: {
    data: string;
    out: string;
    config: RecognizerSection;
    seed: number;
    size: number;
    onProgress?: OnProgress;
  }): Promise<TrainedRun>;
  createEmbedder(spec: string): Promise<Embedder>;
  verify(a: {
    model: string;
    set: string;
    size: number;
    batchSize: number;
    onProgress?: OnProgress;
  }): Promise<UtilityFigures>;
}

/** The real implementations of the sweep's dependencies. */
export function defaultSweepDeps(opts: { onWarning?: (m: string) => void } = {}): SweepDeps {
  const sets = new Map<string, Promise<VerificationSet>>();
  return {
    async trainMae({ data, out, teacher, config, seed, size, onProgress }) {
      const cfg = mergeConfig<TrainMaeConfig>(mergeConfig<TrainMaeConfig>(DEFAULT_TRAIN_MAE, config), {
        data,
        out,
        seed,
        irm: { teacher },
        model: { imageSize: size },
      });
      // A training step resumes from its checkpoint when an interrupted run left one.
      const resume = hasCheckpoint(out);
      const r = await trainMae(cfg, { onProgress, onWarning: opts.onWarning, resume, overwrite: !resume });
      return { run: r.out };
    },
    async reconstruct({ run, data, out, maskRatio, pasteBack, seed, onProgress }) {
      // a release: out/images/<identity>/<file> and out/manifest.jsonl (the kept patches of each image)
      await protectDataset(
        data,
        {
          method: 'facemae',
          model: run,
          strength: maskRatio,
          ...(pasteBack !== undefined ? { pasteBack } : {}),
        },
        out,
        { seed, resume: true, onProgress, onWarning: opts.onWarning },
      );
    },
    async trainRecognizer({ data, out, config, seed, size, onProgress }) {
      const cfg = mergeConfig<TrainFrConfig>(mergeConfig<TrainFrConfig>(DEFAULT_TRAIN_FR, config), {
        data,
        out,
        seed,
        // The recognizer's own input size wins (e.g. a cheap 64 px utility recipe); else the sweep's.
        inputSize: config.inputSize ?? size,
      });
      const resume = hasCheckpoint(out);
      const r = await trainFaceRecognizer(cfg, {
        onProgress,
        onWarning: opts.onWarning,
        resume,
        overwrite: !resume,
      });
      return { run: r.out, steps: r.steps };
    },
    createEmbedder: (spec) => createEmbedder(spec),
    async verify({ model, set, size, batchSize, onProgress }) {
      const key = `${set}@${size}`;
      let read = sets.get(key);
      if (!read) {
        read = readVerificationSet(set, { size, onWarning: opts.onWarning });
        // A failed read is not cached: the next step tries again (e.g. after the file was fixed).
        read.catch(() => sets.delete(key));
        sets.set(key, read);
      }
      const vs = await read;
      const [r] = await verifyModel(model, [vs], {
        batchSize,
        onProgress: (_phase, _set, d, t) => onProgress?.(d, t),
      });
      return {
        accuracy: r!.accuracy,
        std: r!.std,
        tarAtFar: r!.tarAtFar.tar,
        pairCorrect: Array.from(r!.pairCorrect).join(''),
      };
    },
  };
}
