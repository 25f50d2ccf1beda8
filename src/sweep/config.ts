/**
 * The sweep's config (configs/demo.json, configs/full.json). Relative paths are resolved against
 * the config file's folder, so a config works from any working directory.
 */
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { DISTORTION_METHODS, type DistortionMethod } from '../protect/distortions.js';

export interface DeploySelection {
  /** Identity-folder root to pick from (e.g. LFW's images/). */
  dir: string;
  /** Keep identities with at least this many images. */
  minImages: number;
  /** At most this many identities (the first in sorted order), and images per identity. */
  maxIdentities: number;
  maxImagesPerIdentity: number;
  /** Identity folders never to pick (e.g. those in the training set A). */
  exclude?: string[];
  /** Text files (LFW people/pairs lists) whose names are never picked, e.g. the test split's people. */
  excludeListed?: string[];
}

export interface SweepConfig {
  name: string;
  seed: number;
  /** Square image side everything is read at (112). */
  size: number;
  /** Training set A (FaceMAE, and the IRM teacher when teacher = 'train'). */
  train: string;
  /** Deployment set B of unseen identities: a folder, or a selection from a bigger one. */
  deploy: string | DeploySelection;
  /** Verification sets T (readVerificationSet specs such as 'lfw:DIR'). */
  verify: string[];
  /** IRM teacher: 'train' (a recognizer trained on A here) or a spec ('faceplugin' | FILE.onnx | RUN_DIR). */
  teacher: string;
  /** Config of the teacher recognizer when teacher = 'train' (passed to trainFaceRecognizer). */
  teacherTrain: Record<string, unknown>;
  /** The attack's recognizer; must differ from the teacher. */
  attacker: string;
  allowSameAttacker: boolean;
  mae: {
    /** A pretrained FaceMAE run used instead of training when the folder exists (null: always train). */
    pretrained: string | null;
    /**
     * Passed to trainMae (model size, steps, batch, lr, IRM weight…). `init` (a trained MAE, path
     * relative to the config file) makes the step a fine-tuning of that model on A with IRM.
     */
    train: Record<string, unknown>;
  };
  /** FaceMAE reconstructions of B at these mask ratios. */
  maskRatios: number[];
  /** Baseline protections of B. */
  baselines: Array<{ method: DistortionMethod; strength: number }>;
  /** Patch side of the mask-only baseline and the grids' masked column. */
  patchSize: number;
  /** The recognizer trained on every version of B (passed to trainFaceRecognizer). */
  recognizer: Record<string, unknown>;
  /** Embedding batch size for the attack and verification. */
  batchSize: number;
  /** Rows (identities) in the image grid. */
  gridRows: number;
}

export const DEFAULT_SWEEP_CONFIG: SweepConfig = {
  name: 'sweep',
  seed: 0,
  size: 112,
  train: '',
  deploy: '',
  verify: [],
  teacher: 'train',
  teacherTrain: {},
  attacker: 'faceplugin',
  allowSameAttacker: false,
  mae: { pretrained: null, train: {} },
  maskRatios: [0.5, 0.75, 0.9],
  baselines: [
    { method: 'mask', strength: 0.75 },
    { method: 'blur', strength: 4 },
    { method: 'pixelate', strength: 8 },
    { method: 'noise', strength: 40 },
  ],
  patchSize: 16,
  recognizer: {},
  batchSize: 32,
  gridRows: 6,
};

const SPEC_PREFIX = /^([a-z][a-z-]+):(.+)$/;

/** Resolves the config's relative paths against `baseDir`; checks the few invariants. */
export function resolveSweepPaths(cfg: SweepConfig, baseDir: string): SweepConfig {
  const p = (x: string) => (x && !path.isAbsolute(x) ? path.resolve(baseDir, x) : x);
  /** A model spec: keyword, or a path. */
  const model = (x: string) => (x === 'faceplugin' || x === 'train' ? x : p(x));
  const spec = (x: string) => {
    const m = SPEC_PREFIX.exec(x);
    return m ? `${m[1]}:${p(m[2]!)}` : p(x);
  };
  if (!cfg.train)
    throw new FaceMaeError('sweep config needs "train" (the training set A folder)', 'E_CONFIG');
  if (!cfg.deploy) throw new FaceMaeError('sweep config needs "deploy" (the deployment set B)', 'E_CONFIG');
  for (const b of cfg.baselines) {
    if (!DISTORTION_METHODS.includes(b.method)) {
      throw new FaceMaeError(
        `sweep baseline method "${b.method}" is unknown; use ${DISTORTION_METHODS.join(', ')}`,
        'E_CONFIG',
      );
    }
  }
  for (const r of cfg.maskRatios) {
    if (!(r > 0 && r < 1)) throw new FaceMaeError(`sweep mask ratio ${r} must be in (0, 1)`, 'E_CONFIG');
  }
  return {
    ...cfg,
    train: p(cfg.train),
    deploy:
      typeof cfg.deploy === 'string'
        ? p(cfg.deploy)
        : { ...cfg.deploy, dir: p(cfg.deploy.dir), excludeListed: cfg.deploy.excludeListed?.map(p) },
    verify: cfg.verify.map(spec),
    teacher: model(cfg.teacher),
    attacker: model(cfg.attacker),
    mae: {
      ...cfg.mae,
      pretrained: cfg.mae.pretrained ? p(cfg.mae.pretrained) : null,
      train:
        typeof cfg.mae.train.init === 'string'
          ? { ...cfg.mae.train, init: p(cfg.mae.train.init) }
          : cfg.mae.train,
    },
  };
}
