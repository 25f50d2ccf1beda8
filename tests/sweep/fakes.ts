/** Stand-ins for the other areas' training/eval functions, so the sweep's wiring can be tested in seconds. */
import { DEFAULT_PARROT } from '../../src/attack/parrot.js';
import fs from 'node:fs';
import path from 'node:path';
import { createRng } from '../../src/core/rng.js';
import { FaceMaeError } from '../../src/core/errors.js';
import { distortDataset } from '../../src/protect/distort-dataset.js';
import { hashOf } from '../../src/sweep/runner.js';
import type { SweepConfig } from '../../src/sweep/config.js';
import type { SweepDeps } from '../../src/sweep/integrations.js';
import type { Embedder } from '../../src/types.js';

export const pixelEmbedder = (): Embedder => ({
  name: 'pixels16',
  embeddingDim: 16 * 16 * 3,
  inputSize: 16,
  async embed(images, n) {
    const d = 16 * 16 * 3;
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let j = 0; j < d; j++) m += images[i * d + j]!;
      m /= d;
      for (let j = 0; j < d; j++) out[i * d + j] = images[i * d + j]! - m;
    }
    return out;
  },
  dispose() {},
});

/** The fake verification of a fake recognizer run: seeded by a hash of its training data. */
export function fakeVerification(model: string): { accuracy: number; std: number; pairCorrect: string } {
  const h = parseInt(hashOf(fs.readFileSync(path.join(model, 'model.txt'), 'utf8')).slice(0, 4), 16);
  // 600 pairs, each right with probability p (seeded by the model): accuracy is their mean.
  const p = 0.55 + (h % 400) / 1000;
  const rng = createRng(h);
  const pairCorrect = Array.from({ length: 600 }, () => (rng.next() < p ? '1' : '0')).join('');
  const accuracy = [...pairCorrect].filter((c) => c === '1').length / 600;
  return { accuracy, std: 0.02, pairCorrect };
}

/** Fake steps: "reconstruction" is a blur, "training" writes a marker, "verification" is a hash-derived number. */
export function fakeDeps(calls: string[], opts: { noRecognizer?: boolean } = {}): SweepDeps {
  return {
    async trainMae({ out, teacher }) {
      calls.push('trainMae');
      fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify({ config: { irm: { teacher } } }));
      return { run: out };
    },
    async reconstruct({ data, out, maskRatio, pasteBack, seed, size }) {
      calls.push(`reconstruct ${maskRatio}${pasteBack === undefined ? '' : ` pasteBack ${pasteBack}`}`);
      // a release in `out`, as the real reconstruct writes it
      await distortDataset(
        { method: 'blur', strength: 1 + 3 * maskRatio, data, out, seed, size },
        { resume: true },
      );
    },
    async trainRecognizer({ data, out }) {
      calls.push(`trainRecognizer ${path.basename(path.dirname(data))}`);
      if (opts.noRecognizer)
        throw new FaceMaeError(
          'not available: trainFaceRecognizer (src/train/train-face.ts) is not in this build',
          'E_NOT_AVAILABLE',
        );
      fs.writeFileSync(path.join(out, 'model.txt'), data);
      return { run: out };
    },
    async createEmbedder() {
      calls.push('createEmbedder');
      return pixelEmbedder();
    },
    async verify({ model }) {
      return fakeVerification(model);
    },
  };
}

export function tinySweepConfig(root: string, deploy: string): SweepConfig {
  return {
    name: 'fake',
    seed: 1,
    size: 112,
    train: path.join(root, 'assets/sample/train'),
    deploy,
    split: null,
    verify: ['lfw:fake'],
    teacher: 'train',
    teacherTrain: {},
    privacyImagesPerIdentity: null,
    attackers: ['faceplugin'],
    publicImagesPerIdentity: 4,
    parrotSets: null,
    parrot: DEFAULT_PARROT,
    allowSameAttacker: false,
    mae: { pretrained: null, train: {} },
    maskRatios: [0.5, 0.75],
    pasteBack: [1],
    ablation: null,
    utility: true,
    baselines: [
      { method: 'mask', strength: 0.75 },
      { method: 'blur', strength: 4 },
      { method: 'pixelate', strength: 16 },
      { method: 'noise', strength: 40 },
    ],
    patchSize: 16,
    recognizer: {},
    batchSize: 16,
    gridRows: 4,
  };
}

/** 5 identities × 4 images of the built-in deploy sample. */
export function smallDeploy(root: string, dir: string): string {
  const src = path.join(root, 'assets/sample/deploy');
  for (const id of fs.readdirSync(src).sort().slice(0, 5))
    fs.cpSync(path.join(src, id), path.join(dir, id), { recursive: true });
  return dir;
}
