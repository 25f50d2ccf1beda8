/**
 * The sweep's real dependencies: the library's typed entry points for training the MAE and the
 * recognizers, reconstruction, embedders and verification. The sweep's training sections are
 * partial configs merged onto the trainers' defaults (config/resolve.ts's mergeConfig); the sweep
 * itself sets the data, output folder, seed and image size.
 */
import { mergeConfig, type DeepPartial } from '../config/resolve.js';
import { readVerificationSet, type VerificationSet } from '../data/verification-set.js';
import { protectDataset } from '../protect/protect-dataset.js';
import { createEmbedder } from '../loaders/embedders.js';
import { verifyModel } from '../loaders/verify-model.js';
import { hasCheckpoint } from '../data/checkpoint.js';
import { DEFAULT_TRAIN_MAE, trainMae, type TrainMaeConfig } from '../train/pretrain-mae.js';
import { DEFAULT_TRAIN_FR, trainFaceRecognizer, type TrainFrConfig } from '../train/train-face.js';
import type { SweepDeps } from './sweep.js';

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
      } as DeepPartial<TrainMaeConfig>);
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
      if (!sets.has(key)) {
        const p = readVerificationSet(set, { size, onWarning: opts.onWarning });
        // A failed read is not cached: the next step tries again (e.g. after the file was fixed).
        p.catch(() => sets.delete(key));
        sets.set(key, p);
      }
      const vs = (await sets.get(key)) as VerificationSet;
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
