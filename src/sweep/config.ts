/**
 * The sweep's config (configs/demo.json, configs/full.json). Relative paths are resolved against
 * the config file's folder, so a config works from any working directory.
 */
import path from 'node:path';
import { DEFAULT_PARROT } from '../attack/parrot.js';
import { resolveAttackerModels } from '../attack/suite.js';
import { loadConfigFile } from '../config/resolve.js';
import {
  deepPartial,
  nonNegInt,
  num,
  parseConfig,
  posInt,
  resolveWithSchema,
  str,
  strList,
  z,
  type ConfigLayer,
} from '../config/schema.js';
import { TRAIN_FR_SCHEMA, TRAIN_MAE_SCHEMA } from '../config/trainers.js';
import { FaceMaeError } from '../core/errors.js';
import { checkPasteBack } from '../models/mae/mae.js';
import { isGraphModelSpec } from '../loaders/graph-model-specs.js';
import { DISTORTION_METHODS } from '../protect/distortions.js';

/** Keys of a training config the sweep sets itself (from `train`/the step folder/`seed`). */
const SWEEP_OWNED = { data: true, out: true, seed: true } as const;

/** A sweep's MAE training section: any trainMae key but those the sweep sets (merged at the step). */
const MAE_SECTION = deepPartial(TRAIN_MAE_SCHEMA.omit(SWEEP_OWNED));
/** A sweep's recognizer section (teacherTrain, recognizer): any trainFaceRecognizer key but those the sweep sets. */
const RECOGNIZER_SECTION = deepPartial(TRAIN_FR_SCHEMA.omit(SWEEP_OWNED));
export type MaeTrainSection = z.infer<typeof MAE_SECTION>;
export type RecognizerSection = z.infer<typeof RECOGNIZER_SECTION>;

/** A mask ratio of a FaceMAE row: something must be removed, something kept. */
const ratio = () => num().gt(0).lt(1);

const DEPLOY_SELECTION = z.strictObject({
  /** Identity-folder root to pick from (e.g. LFW's images/). */
  dir: str(),
  /** Keep identities with at least this many images. */
  minImages: posInt(),
  /** At most this many identities (the first in sorted order), and images per identity. */
  maxIdentities: posInt(),
  maxImagesPerIdentity: posInt(),
  /** Identity folders never to pick (e.g. those in the training set A). */
  exclude: strList().optional(),
  /** Text files (LFW people/pairs lists) whose names are never picked, e.g. the test split's people. */
  excludeListed: strList().optional(),
});
export type DeploySelection = z.infer<typeof DEPLOY_SELECTION>;

/**
 * A seeded by-identity split of one dataset (the evidence protocol, configs/celeba-966.json):
 * `deployIdentities` of its identities form the deployment set B (never seen by FaceMAE or its
 * teacher); the rest join the training pool A. Identity folders are renamed `<prefix><id>` in A
 * so two sources cannot collide.
 */
const SPLIT = z.strictObject({
  dir: str().min(1),
  seed: nonNegInt(),
  deployIdentities: posInt(),
  /** Prefix of the identities from `train` in A, and of the split's remainder. */
  trainPrefix: str(),
  restPrefix: str(),
  /**
   * Keep only the first N images (sorted) of each B identity (null: all). With
   * privacyImagesPerIdentity = N and utility off, a quick pass gives the same privacy figures as
   * the full B: masks depend only on (seed, image path) and the attack uses the same images.
   */
  maxImagesPerIdentity: posInt().nullable().optional(),
});
export type SplitConfig = z.infer<typeof SPLIT>;

/** The same MAE recipe without IRM (λ = 0): the ablation rows `facemae-noirm`. */
const ABLATION = z.strictObject({
  /** A trained MAE used instead of training when the folder exists (null: always train). */
  pretrained: str().nullable(),
  /** Passed to trainMae like `mae.train`, always without a teacher. */
  train: MAE_SECTION,
  maskRatios: z.array(ratio()).min(1),
});
export type AblationConfig = z.infer<typeof ABLATION>;

/** The sweep's config: its keys, their types and values. */
export const SWEEP_SCHEMA = z.strictObject({
  name: str().min(1),
  seed: nonNegInt(),
  /** Square image side everything is read at (112). */
  size: posInt(),
  /** Training set A (FaceMAE, and the IRM teacher when teacher = 'train'). */
  train: str(),
  /** Deployment set B of unseen identities: a folder, or a selection from a bigger one ('' with `split`). */
  deploy: z.union([str(), DEPLOY_SELECTION]),
  /** B and the rest of A from one dataset split by identity (then `deploy` stays ''). */
  split: SPLIT.nullable(),
  /** Verification sets T (readVerificationSet specs such as 'lfw:DIR'). */
  verify: strList(),
  /** IRM teacher: 'train' (a recognizer trained on A here) or a spec ('faceplugin' | FILE.onnx | RUN_DIR). */
  teacher: str().min(1),
  /** Config of the teacher recognizer when teacher = 'train' (passed to trainFaceRecognizer). */
  teacherTrain: RECOGNIZER_SECTION,
  /**
   * Attack only the first N images (sorted) of each identity of B, in every version (null: all).
   * Bounds the attack's cost on a large B; the recognizers still train on all of B.
   */
  privacyImagesPerIdentity: posInt().nullable(),
  /**
   * The attacker suite (src/attack/attack.ts): `MODEL` (frozen), `MODEL+reversal|adaptation|pooling`,
   * `suite:MODEL`, `suite`. Each model must differ from the teacher; rows report each attacker and
   * the worst case.
   */
  attackers: strList().min(1),
  /**
   * Images per identity of A the adaptive attackers protect and fit on (protect(A) with the
   * attacker's own seed); null: all of A.
   */
  publicImagesPerIdentity: posInt().nullable(),
  /** The sets (row ids, e.g. 'facemae-r0.75', 'noise-80') a `+parrot` attacker runs on; null: every set. */
  parrotSets: strList().nullable(),
  /** The parrot's fine-tuning recipe (src/attack/parrot.ts). */
  parrot: z.strictObject({
    epochs: num().positive(),
    batchSize: posInt(),
    lr: num().positive(),
    seed: nonNegInt(),
  }),
  allowSameAttacker: z.boolean(),
  mae: z.strictObject({
    /** A pretrained FaceMAE run used instead of training when the folder exists (null: always train). */
    pretrained: str().nullable(),
    /**
     * Passed to trainMae (model size, steps, batch, lr, IRM weight…). `init` (a trained MAE, path
     * relative to the config file) makes the step a fine-tuning of that model on A with IRM.
     */
    train: MAE_SECTION,
  }),
  /** FaceMAE reconstructions of B at these mask ratios. */
  maskRatios: z.array(ratio()),
  /**
   * The release knob: FaceMAE rows at every (mask ratio, paste-back weight); 1 = the visible
   * patches pasted back (row `facemae-r<ratio>`), 0 = the decoder's output everywhere, between =
   * a blend (rows `facemae-r<ratio>-pb<weight>`). The ablation rows keep 1.
   */
  pasteBack: z.array(num()),
  /** FaceMAE trained without IRM, for the ablation rows (null: no ablation). */
  ablation: ABLATION.nullable(),
  /**
   * Train and verify a recognizer on every version (true), on none (false: privacy only, e.g. a
   * first pass), or on the rows named (ids such as `facemae-r0.9`, `blur-16`), so a later run can
   * add rows without retraining the ones an earlier run already measured.
   */
  utility: z.union([z.boolean(), z.array(str().min(1)).min(1)]),
  /** Baseline protections of B. */
  baselines: z.array(z.strictObject({ method: z.enum(DISTORTION_METHODS), strength: num() })),
  /** Patch side of the mask-only baseline and the grids' masked column. */
  patchSize: posInt(),
  /** The recognizer trained on every version of B (passed to trainFaceRecognizer). */
  recognizer: RECOGNIZER_SECTION,
  /** Embedding batch size for the attack and verification. */
  batchSize: posInt(),
  /** Rows (identities) in the image grid. */
  gridRows: nonNegInt(),
});
export type SweepConfig = z.infer<typeof SWEEP_SCHEMA>;

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

/** The single-attacker key of older configs: refused with what to write instead. */
function refuseLegacyAttacker(layers: readonly ConfigLayer[]): void {
  for (const { source, value } of layers)
    if (typeof value === 'object' && value !== null && Object.hasOwn(value, 'attacker'))
      throw new FaceMaeError(
        `"attacker" in ${source} was removed: list the attacker(s) in "attackers", e.g. "attackers": [${JSON.stringify((value as { attacker: unknown }).attacker)}]`,
        'E_CONFIG',
        { key: 'attacker' },
      );
}

/**
 * defaults < file (with its `extends` chain) < `--set` overrides, parsed by SWEEP_SCHEMA (the
 * training sections against their trainers' keys). Relative paths resolve against the file's folder.
 */
export function loadSweepConfig(configFile: string, overrides: Record<string, unknown> = {}): SweepConfig {
  const layers = [
    { source: configFile, value: loadConfigFile(configFile) },
    { source: '--set', value: overrides },
  ];
  refuseLegacyAttacker(layers);
  const cfg = resolveWithSchema(SWEEP_SCHEMA, DEFAULT_SWEEP_CONFIG, layers);
  return resolveSweepPaths(cfg, path.dirname(path.resolve(configFile)));
}

const SPEC_PREFIX = /^([a-z][a-z-]+):(.+)$/;

/**
 * Resolves the config's relative paths against `baseDir`, after checking it against SWEEP_SCHEMA
 * (for callers that built it in code) and the invariants between keys.
 */
export function resolveSweepPaths(config: SweepConfig, baseDir: string): SweepConfig {
  refuseLegacyAttacker([{ source: 'sweep config', value: config }]);
  const cfg = parseConfig(SWEEP_SCHEMA, config, [{ source: 'sweep config', value: config }]);
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
  if (cfg.split && cfg.split.trainPrefix === cfg.split.restPrefix)
    throw new FaceMaeError(
      `split.trainPrefix and split.restPrefix are both "${cfg.split.trainPrefix}": they must differ so identities cannot collide`,
      'E_CONFIG',
    );
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
    mae: maeSection(cfg.mae),
  };
}
