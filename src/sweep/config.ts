/**
 * The sweep's config (configs/demo.json, configs/full.json). Relative paths are resolved against
 * the config file's folder, so a config works from any working directory.
 */
import path from 'node:path';
import { DEFAULT_PARROT, type ParrotRecipe } from '../attack/parrot.js';
import { resolveAttackerModels } from '../attack/suite.js';
import type { DeepPartial } from '../config/resolve.js';
import { FaceMaeError } from '../core/errors.js';
import { checkPasteBack } from '../models/mae/mae.js';
import { isGraphModelSpec } from '../loaders/graph-model-specs.js';
import { DISTORTION_METHODS, type DistortionMethod } from '../protect/distortions.js';
import { DEFAULT_TRAIN_MAE, type TrainMaeConfig } from '../train/pretrain-mae.js';
import { DEFAULT_TRAIN_FR, type TrainFrConfig } from '../train/train-face.js';

/** Keys of a training config the sweep sets itself (from `train`/the step folder/`seed`). */
const SWEEP_OWNED = ['data', 'out', 'seed'] as const;
type SweepOwned = (typeof SWEEP_OWNED)[number];

/** A sweep's MAE training section: any trainMae key but those the sweep sets. */
export type MaeTrainSection = DeepPartial<Omit<TrainMaeConfig, SweepOwned>>;
/** A sweep's recognizer section (teacherTrain, recognizer): any trainFaceRecognizer key but those the sweep sets. */
export type RecognizerSection = DeepPartial<Omit<TrainFrConfig, SweepOwned>>;

const withoutOwned = <T extends object>(d: T): Omit<T, SweepOwned> => {
  const out: Record<string, unknown> = { ...(d as Record<string, unknown>) };
  for (const k of SWEEP_OWNED) delete out[k];
  return out as Omit<T, SweepOwned>;
};

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

/**
 * A seeded by-identity split of one dataset (the evidence protocol, configs/celeba-966.json):
 * `deployIdentities` of its identities form the deployment set B (never seen by FaceMAE or its
 * teacher); the rest join the training pool A. Identity folders are renamed `<prefix><id>` in A
 * so two sources cannot collide.
 */
export interface SplitConfig {
  dir: string;
  seed: number;
  deployIdentities: number;
  /** Prefix of the identities from `train` in A, and of the split's remainder. */
  trainPrefix: string;
  restPrefix: string;
  /**
   * Keep only the first N images (sorted) of each B identity (null: all). With
   * privacyImagesPerIdentity = N and utility off, a quick pass gives the same privacy figures as
   * the full B: masks depend only on (seed, image path) and the attack uses the same images.
   */
  maxImagesPerIdentity?: number | null;
}

/** The same MAE recipe without IRM (λ = 0): the ablation rows `facemae-noirm`. */
export interface AblationConfig {
  /** A trained MAE used instead of training when the folder exists (null: always train). */
  pretrained: string | null;
  /** Passed to trainMae like `mae.train`, always without a teacher. */
  train: MaeTrainSection;
  maskRatios: number[];
}

export interface SweepConfig {
  name: string;
  seed: number;
  /** Square image side everything is read at (112). */
  size: number;
  /** Training set A (FaceMAE, and the IRM teacher when teacher = 'train'). */
  train: string;
  /** Deployment set B of unseen identities: a folder, or a selection from a bigger one ('' with `split`). */
  deploy: string | DeploySelection;
  /** B and the rest of A from one dataset split by identity (then `deploy` stays ''). */
  split: SplitConfig | null;
  /** Verification sets T (readVerificationSet specs such as 'lfw:DIR'). */
  verify: string[];
  /** IRM teacher: 'train' (a recognizer trained on A here) or a spec ('faceplugin' | FILE.onnx | RUN_DIR). */
  teacher: string;
  /** Config of the teacher recognizer when teacher = 'train' (passed to trainFaceRecognizer). */
  teacherTrain: RecognizerSection;
  /**
   * Attack only the first N images (sorted) of each identity of B, in every version (null: all).
   * Bounds the attack's cost on a large B; the recognizers still train on all of B.
   */
  privacyImagesPerIdentity: number | null;
  /**
   * The attacker suite (src/attack/attack.ts): `MODEL` (frozen), `MODEL+reversal|adaptation|pooling`,
   * `suite:MODEL`, `suite`. Each model must differ from the teacher; rows report each attacker and
   * the worst case.
   */
  attackers: string[];
  /**
   * Images per identity of A the adaptive attackers protect and fit on (protect(A) with the
   * attacker's own seed); null: all of A.
   */
  publicImagesPerIdentity: number | null;
  /** The sets (row ids, e.g. 'facemae-r0.75', 'noise-80') a `+parrot` attacker runs on; null: every set. */
  parrotSets: string[] | null;
  /** The parrot's fine-tuning recipe (src/attack/parrot.ts). */
  parrot: ParrotRecipe;
  /** Legacy single attacker (configs before multi-attacker privacy); when set it replaces `attackers`. */
  attacker?: string;
  allowSameAttacker: boolean;
  mae: {
    /** A pretrained FaceMAE run used instead of training when the folder exists (null: always train). */
    pretrained: string | null;
    /**
     * Passed to trainMae (model size, steps, batch, lr, IRM weight…). `init` (a trained MAE, path
     * relative to the config file) makes the step a fine-tuning of that model on A with IRM.
     */
    train: MaeTrainSection;
  };
  /** FaceMAE reconstructions of B at these mask ratios. */
  maskRatios: number[];
  /**
   * The release knob: FaceMAE rows at every (mask ratio, paste-back weight); 1 = the visible
   * patches pasted back (row `facemae-r<ratio>`), 0 = the decoder's output everywhere, between =
   * a blend (rows `facemae-r<ratio>-pb<weight>`). The ablation rows keep 1.
   */
  pasteBack: number[];
  /** FaceMAE trained without IRM, for the ablation rows (null: no ablation). */
  ablation: AblationConfig | null;
  /** Train and verify a recognizer on every version (false: privacy only, e.g. a first pass). */
  utility: boolean;
  /** Baseline protections of B. */
  baselines: Array<{ method: DistortionMethod; strength: number }>;
  /** Patch side of the mask-only baseline and the grids' masked column. */
  patchSize: number;
  /** The recognizer trained on every version of B (passed to trainFaceRecognizer). */
  recognizer: RecognizerSection;
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
  split: null,
  verify: [],
  teacher: 'train',
  teacherTrain: {},
  privacyImagesPerIdentity: null,
  attackers: ['faceplugin'],
  publicImagesPerIdentity: 4,
  parrotSets: null,
  parrot: DEFAULT_PARROT,
  allowSameAttacker: false,
  mae: { pretrained: null, train: {} },
  maskRatios: [0.5, 0.75, 0.9],
  pasteBack: [1],
  ablation: null,
  utility: true,
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

/**
 * The keys a sweep config may hold: the defaults, with the training sections' keys those of
 * their trainers (so `mae.train.lrr` is refused like `train-mae --config` refuses `lrr`).
 */
export const SWEEP_CONFIG_KEYS = {
  ...DEFAULT_SWEEP_CONFIG,
  attacker: '',
  teacherTrain: withoutOwned(DEFAULT_TRAIN_FR),
  recognizer: withoutOwned(DEFAULT_TRAIN_FR),
  mae: { pretrained: null, train: withoutOwned(DEFAULT_TRAIN_MAE) },
  ablation: { pretrained: null, train: withoutOwned(DEFAULT_TRAIN_MAE), maskRatios: [] },
  split: {
    dir: '',
    seed: 0,
    deployIdentities: 0,
    trainPrefix: '',
    restPrefix: '',
    maxImagesPerIdentity: null,
  } satisfies Required<SplitConfig>,
};

const SPEC_PREFIX = /^([a-z][a-z-]+):(.+)$/;

/** Resolves the config's relative paths against `baseDir`; checks the few invariants. */
export function resolveSweepPaths(cfg: SweepConfig, baseDir: string): SweepConfig {
  const p = (x: string) => (x && !path.isAbsolute(x) ? path.resolve(baseDir, x) : x);
  /** A model spec: keyword, or a path. */
  const model = (x: string) => (x === 'faceplugin' || x === 'train' || isGraphModelSpec(x) ? x : p(x));
  /** An MAE section (mae, ablation): its pretrained run and fine-tuning source are paths. */
  const maeSection = <S extends { pretrained: string | null; train: MaeTrainSection }>(sec: S): S => ({
    ...sec,
    pretrained: sec.pretrained ? p(sec.pretrained) : null,
    train: typeof sec.train.init === 'string' ? { ...sec.train, init: p(sec.train.init) } : sec.train,
  });
  const spec = (x: string) => {
    const m = SPEC_PREFIX.exec(x);
    return m ? `${m[1]}:${p(m[2]!)}` : p(x);
  };
  if (!cfg.train)
    throw new FaceMaeError('sweep config needs "train" (the training set A folder)', 'E_CONFIG');
  if (!cfg.deploy && !cfg.split)
    throw new FaceMaeError('sweep config needs "deploy" (the deployment set B) or "split"', 'E_CONFIG');
  if (cfg.deploy && cfg.split)
    throw new FaceMaeError(
      'sweep config gives both "deploy" and "split": with a split, B is the split\'s deployment part',
      'E_CONFIG',
    );
  if (cfg.split) {
    const sp = cfg.split;
    const bad = (
      [
        ['dir', typeof sp.dir === 'string' && sp.dir !== ''],
        ['seed', Number.isFinite(sp.seed)],
        ['deployIdentities', Number.isInteger(sp.deployIdentities) && sp.deployIdentities > 0],
        ['trainPrefix', typeof sp.trainPrefix === 'string'],
        ['restPrefix', typeof sp.restPrefix === 'string'],
        [
          'maxImagesPerIdentity',
          sp.maxImagesPerIdentity == null ||
            (Number.isInteger(sp.maxImagesPerIdentity) && sp.maxImagesPerIdentity > 0),
        ],
      ] as const
    ).find(([, ok]) => !ok);
    if (bad)
      throw new FaceMaeError(
        `split.${bad[0]} is missing or invalid (${JSON.stringify(sp[bad[0]])}); a split needs dir, seed, deployIdentities (a positive integer), trainPrefix and restPrefix`,
        'E_CONFIG',
      );
  }
  if (cfg.ablation && !(Array.isArray(cfg.ablation.maskRatios) && cfg.ablation.maskRatios.length > 0))
    throw new FaceMaeError('ablation.maskRatios must list at least one mask ratio', 'E_CONFIG');
  if (cfg.split && cfg.split.trainPrefix === cfg.split.restPrefix)
    throw new FaceMaeError(
      `split.trainPrefix and split.restPrefix are both "${cfg.split.trainPrefix}": they must differ so identities cannot collide`,
      'E_CONFIG',
    );
  for (const b of cfg.baselines) {
    if (!DISTORTION_METHODS.includes(b.method)) {
      throw new FaceMaeError(
        `sweep baseline method "${b.method}" is unknown; use ${DISTORTION_METHODS.join(', ')}`,
        'E_CONFIG',
      );
    }
  }
  if (
    cfg.parrotSets !== null &&
    !(Array.isArray(cfg.parrotSets) && cfg.parrotSets.every((x) => typeof x === 'string'))
  )
    throw new FaceMaeError(
      `parrotSets ${JSON.stringify(cfg.parrotSets)} must be a list of row ids (e.g. "facemae-r0.75", "noise-80") or null (every row)`,
      'E_CONFIG',
    );
  for (const k of ['epochs', 'batchSize', 'lr'] as const)
    if (!(typeof cfg.parrot[k] === 'number' && cfg.parrot[k] > 0 && Number.isFinite(cfg.parrot[k])))
      throw new FaceMaeError(
        `parrot.${k} must be a positive number, got ${JSON.stringify(cfg.parrot[k])}`,
        'E_CONFIG',
      );
  if (!Number.isInteger(cfg.parrot.batchSize) || !Number.isInteger(cfg.parrot.seed))
    throw new FaceMaeError('parrot.batchSize and parrot.seed must be integers', 'E_CONFIG');
  for (const key of ['privacyImagesPerIdentity', 'publicImagesPerIdentity'] as const) {
    const per = cfg[key];
    if (per !== null && !(Number.isInteger(per) && per >= 1))
      throw new FaceMaeError(
        `${key} ${JSON.stringify(per)} must be a positive integer or null (all images)`,
        'E_CONFIG',
      );
  }
  for (const r of [...cfg.maskRatios, ...(cfg.ablation?.maskRatios ?? [])]) {
    if (!(r > 0 && r < 1)) throw new FaceMaeError(`sweep mask ratio ${r} must be in (0, 1)`, 'E_CONFIG');
  }
  if (
    !Array.isArray(cfg.pasteBack) ||
    cfg.pasteBack.length === 0 ||
    new Set(cfg.pasteBack).size !== cfg.pasteBack.length
  )
    throw new FaceMaeError(
      `pasteBack ${JSON.stringify(cfg.pasteBack)} must be a non-empty list of distinct weights in [0, 1] (e.g. [1, 0.5, 0])`,
      'E_CONFIG',
      { key: 'pasteBack' },
    );
  for (const w of cfg.pasteBack) checkPasteBack(w, 'pasteBack');
  return {
    ...cfg,
    train: p(cfg.train),
    deploy:
      typeof cfg.deploy === 'string'
        ? p(cfg.deploy)
        : { ...cfg.deploy, dir: p(cfg.deploy.dir), excludeListed: cfg.deploy.excludeListed?.map(p) },
    split: cfg.split ? { ...cfg.split, dir: p(cfg.split.dir) } : null,
    ablation: cfg.ablation ? maeSection(cfg.ablation) : null,
    verify: cfg.verify.map(spec),
    teacher: model(cfg.teacher),
    attackers: resolveAttackerModels(cfg.attackers, model),
    ...(cfg.attacker === undefined ? {} : { attacker: model(cfg.attacker) }),
    mae: maeSection(cfg.mae),
  };
}
