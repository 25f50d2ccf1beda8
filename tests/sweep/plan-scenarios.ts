/** Sweep configs whose plans (step ids, dependencies, config hashes) are pinned: fixed paths, no files read. */
import type { SweepConfig } from '../../src/sweep/config.js';
import { tinySweepConfig } from './fakes.js';

const ROOT = '/facemae';
const base = tinySweepConfig(ROOT, '/data/deploy');

export const SCENARIOS: Record<string, SweepConfig> = {
  /** The fake sweep of sweep.test.ts: the teacher trained, four baselines, utility. */
  tiny: base,
  /** The evidence protocol: a split, the λ = 0 ablation, a release knob, the adaptive suite and a parrot. */
  evidence: {
    ...base,
    deploy: '',
    split: {
      dir: '/data/pool',
      seed: 3,
      deployIdentities: 3,
      trainPrefix: 'pub-',
      restPrefix: 'pool-',
      maxImagesPerIdentity: 3,
    },
    ablation: { pretrained: null, train: {}, maskRatios: [0.75] },
    pasteBack: [1, 0.5],
    attackers: ['suite:mobileface', 'mobileface+parrot'],
    parrotSets: ['noise-40', 'facemae-r0.75-pb0.5'],
    privacyImagesPerIdentity: 2,
    publicImagesPerIdentity: 2,
    utility: false,
  },
  /** A deploy selection, a given teacher, two parrots on every row. */
  selection: {
    ...base,
    deploy: { dir: '/data/lfw', minImages: 2, maxIdentities: 10, maxImagesPerIdentity: 3, exclude: ['x'] },
    teacher: 'faceplugin',
    attackers: ['mobileface', 'mobileface+parrot', 'faceplugin+parrot', 'mobileface+reversal'],
    maskRatios: [0.75],
    baselines: [
      { method: 'mask', strength: 0.5 },
      { method: 'pixelate', strength: 8 },
    ],
  },
};
