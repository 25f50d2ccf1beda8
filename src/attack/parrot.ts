/**
 * The parrot attacker (Todt et al., PETS 2024; Radiya-Dixit et al., ICLR 2022, FaceCure): a
 * recognizer fine-tuned end to end on A ∪ protect(A) with A's identity labels, so it learns to
 * put a protected face beside its original. It starts from an independent pretrained network the
 * engine can train (the bundled mobileface, or a train-fr run) with a fresh classifier head, and
 * then searches the release like a frozen attacker.
 *
 * The recipe is FaceCure's, scaled to what two CPU cores afford: FaceCure fine-tunes for 10 epochs
 * of 500 steps of 32 (160k samples) on a GPU; here `epochs` passes over the (smaller) A ∪ protect(A)
 * at a fine-tuning learning rate, with flips, SGD and a cosine decay.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { hasCheckpoint, readRunInfo } from '../data/checkpoint.js';
import { isGraphModelSpec } from '../loaders/graph-model-specs.js';
import { MOBILEFACE_DIM } from '../models/backbones/mobileface.js';
import { DEFAULT_TRAIN_FR, trainFaceRecognizer, type TrainFrConfig } from '../train/train-face.js';
import type { OnProgress } from '../types.js';

/** The fine-tuning recipe (typed defaults; a caller may override any key). */
export interface ParrotRecipe {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
}

export const DEFAULT_PARROT: ParrotRecipe = { epochs: 5, batchSize: 64, lr: 0.01, seed: 0 };

/** The backbone and starting weights a parrot on `model` fine-tunes, or why it cannot. */
export function parrotBase(model: string): { backbone: string; init: string; embeddingDim: number } {
  if (model === 'mobileface')
    return { backbone: 'mobileface', init: 'mobileface', embeddingDim: MOBILEFACE_DIM };
  if (!isGraphModelSpec(model) && fs.existsSync(model) && hasCheckpoint(model)) {
    const meta = readRunInfo(model, 'facemae-fr', { key: 'parrot' }).meta as {
      backbone: string;
      embeddingDim: number;
    };
    return { backbone: meta.backbone, init: model, embeddingDim: meta.embeddingDim };
  }
  throw new FaceMaeError(
    `the parrot attacker fine-tunes its model, and "${model}" is not one the engine can train: use mobileface+parrot or RUN_DIR+parrot (a train-fr run)`,
    'E_CONFIG',
  );
}

/**
 * The parrot's training set: every image of `files` (`<identity>/<image>`) from A and from
 * protect(A), both under the identity's label (`p-` before the protected copy's name). Hard links
 * where the file system allows, else copies; an existing complete folder is kept.
 */
export function parrotData(opts: {
  original: string;
  protected: string;
  files: string[];
  out: string;
}): string {
  const done = path.join(opts.out, '.complete');
  if (fs.existsSync(done)) return opts.out;
  fs.rmSync(opts.out, { recursive: true, force: true });
  const put = (from: string, to: string) => {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    try {
      fs.linkSync(from, to);
    } catch {
      fs.copyFileSync(from, to);
    }
  };
  const protectedByStem = new Map<string, string>();
  for (const id of fs.readdirSync(opts.protected, { withFileTypes: true })) {
    if (!id.isDirectory()) continue;
    for (const f of fs.readdirSync(path.join(opts.protected, id.name)))
      protectedByStem.set(`${id.name}/${path.parse(f).name}`, path.join(opts.protected, id.name, f));
  }
  for (const rel of opts.files) {
    const [id, file] = rel.split('/') as [string, string];
    const prot = protectedByStem.get(`${id}/${path.parse(file).name}`);
    if (!prot)
      throw new FaceMaeError(
        `${opts.protected} has no protected copy of ${rel}: make protect(A) first`,
        'E_NO_SOURCE',
      );
    put(path.join(opts.original, rel), path.join(opts.out, id, file));
    put(prot, path.join(opts.out, id, `p-${path.basename(prot)}`));
  }
  fs.writeFileSync(done, '');
  return opts.out;
}

/** Fine-tunes the parrot into `out` (resumed when a run is there); returns the run folder. */
export async function trainParrot(opts: {
  model: string;
  data: string;
  out: string;
  recipe?: Partial<ParrotRecipe>;
  onProgress?: OnProgress;
  onWarning?: (m: string) => void;
}): Promise<string> {
  const r = { ...DEFAULT_PARROT, ...opts.recipe };
  const base = parrotBase(opts.model);
  // a small A (a test, a demo) still makes whole batches
  let images = 0;
  for (const id of fs.readdirSync(opts.data, { withFileTypes: true }))
    if (id.isDirectory()) images += fs.readdirSync(path.join(opts.data, id.name)).length;
  const cfg: TrainFrConfig = {
    ...DEFAULT_TRAIN_FR,
    data: opts.data,
    out: opts.out,
    backbone: base.backbone,
    init: base.init,
    embeddingDim: base.embeddingDim,
    inputSize: 112,
    epochs: r.epochs,
    steps: null,
    batchSize: Math.max(2, Math.min(r.batchSize, images)),
    lr: r.lr,
    schedule: 'cosine',
    warmupFraction: 0.1,
    seed: r.seed,
    checkpointEvery: 100,
  };
  const res = await trainFaceRecognizer(cfg, {
    resume: hasCheckpoint(opts.out),
    onProgress: opts.onProgress,
    onWarning: opts.onWarning,
  });
  return res.out;
}
