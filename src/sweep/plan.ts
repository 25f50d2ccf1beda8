/**
 * The sweep's step graph (FaceMAE, Wang, Zhao et al. 2022, Sec. 4): B and A, the IRM teacher,
 * FaceMAE and its λ = 0 ablation, every version of B, the attack on each, a recognizer trained and
 * verified on each, the image grid. Each step has a kind that types what it is given (its config,
 * hashed by ./runner.ts: a change redoes the step) and what it returns (kept in its done-marker);
 * steps read the results of the steps they depend on through typed references.
 */
import fs from 'node:fs';
import path from 'node:path';
import { attack } from '../attack/attack.js';
import { attackerFingerprint } from '../attack/audit.js';
import { createEmbeddingCache } from '../attack/embed.js';
import { createMaeInpainter } from '../attack/inpaint.js';
import { parrotData, trainParrot } from '../attack/parrot.js';
import { protectPublicSet, publicSubset } from '../attack/public-set.js';
import { fitsOnPublic, parseAttackerSuite, type AttackerSpec } from '../attack/suite.js';
import { FaceMaeError } from '../core/errors.js';
import { listSourceRecords } from '../data/source.js';
import { RELEASE_IMAGES, RELEASE_MANIFEST } from '../data/release.js';
import { modelFingerprint } from '../loaders/model-fingerprint.js';
import { findIrmTeacher } from '../loaders/provenance.js';
import type { DistortionMethod } from '../protect/distortions.js';
import { checkAttackerIndependence, firstImagesPerIdentity } from '../protect/privacy-audit.js';
import { protectDataset, type ProtectResult } from '../protect/protect-dataset.js';
import type { Protection } from '../protect/protection.js';
import { versionLabel } from '../report/evidence.js';
import { writeSweepGrid, type GridColumn } from '../report/sweep-grid.js';
import type { ReportedStep, SweepPrivacyResult, SweepVerifyResult } from '../report/sweep-report.js';
import type { Embedder, OnProgress } from '../types.js';
import type {
  DeploySelection,
  MaeTrainSection,
  RecognizerSection,
  SplitConfig,
  SweepConfig,
} from './config.js';
import { materialiseSplit, selectDeploy, type SelectionSummary, type SplitSummary } from './data.js';
import type { SweepDeps, TrainedRun } from './integrations.js';
import type { Step, StepOutcome, SweepStepResult } from './runner.js';
import { ROW, ROW_STEP, STEP, type MaeStepId } from './step-ids.js';

/** Where B comes from, in the configs of the steps that read it: a changed B redoes them. */
type OfB = { deploy: SweepConfig['deploy']; split: SweepConfig['split'] };

/** The FaceMAE a step uses: its run, whether it was given, and its IRM teacher (null: none). */
export type MaeRun = { run: string; pretrained: boolean; teacher: string | null };

/** A release a step wrote: where its images are. */
type Release = { images: string };

/**
 * What each kind of step is given (`config`) and returns (`result`). Results are object types,
 * not interfaces: the runner keeps JSON records.
 */
export interface StepKinds {
  split: { config: { split: SplitConfig; train: string }; result: SplitSummary };
  'deploy-data': { config: DeploySelection; result: SelectionSummary };
  teacher: {
    config: { data: string; split: SplitConfig | null; train: RecognizerSection; seed: number; size: number };
    result: TrainedRun;
  };
  mae: {
    config:
      | { pretrained: string; weights: string }
      | {
          data: string;
          split: SplitConfig | null;
          teacher: string | null;
          train: MaeTrainSection;
          seed: number;
          size: number;
        };
    result: MaeRun;
  };
  facemae: {
    config: OfB & { ratio: number; pasteBack?: number; seed: number; size: number };
    result: Release;
  };
  baseline: {
    config: OfB & {
      method: DistortionMethod;
      strength: number;
      seed: number;
      size: number;
      patchSize: number;
    };
    result: Omit<ProtectResult, never>; // (an object type, not the interface)
  };
  public: {
    config: {
      set: string;
      strength: number;
      pasteBack?: number;
      perIdentity: number | null;
      seed: number;
      size: number;
      train: string;
      split: SplitConfig | null;
    };
    result: Release;
  };
  parrot: {
    config: { model: string; recipe: SweepConfig['parrot']; perIdentity: number | null; seed: number };
    result: { model: string; run: string };
  };
  privacy: {
    config: OfB & {
      attackers: string[];
      parrot?: SweepConfig['parrot'];
      seed: number;
      allowSame: boolean;
      perIdentity: number | null;
      publicPerIdentity?: number | null;
      inpaint?: true;
    };
    result: SweepPrivacyResult;
  };
  fr: { config: OfB & { recognizer: RecognizerSection; seed: number; size: number }; result: TrainedRun };
  verify: { config: { sets: string[]; size: number }; result: SweepVerifyResult };
  grids: {
    config: { rows: number; cols: string[]; seed: number; patchSize: number; masks: 'manifest' };
    result: { file: string; rows: number };
  };
}
export type StepKind = keyof StepKinds;
export type StepResult<K extends StepKind> = StepKinds[K]['result'];

/** A step of the plan, known by its id; its kind types its result. */
export interface StepRef<K extends StepKind = StepKind> {
  kind: K;
  id: string;
}

export interface PlanContext {
  /** The step's own output folder. */
  outDir: string;
  /** The result of a step this one depends on. */
  result<K extends StepKind>(ref: StepRef<K>): StepResult<K>;
}

/** A step of kind K: its config and result typed by the kind. */
interface KindStep<K extends StepKind> extends StepRef<K> {
  config: StepKinds[K]['config'];
  deps: readonly StepRef[];
  resumable?: boolean;
  local?: boolean;
  run(ctx: PlanContext): Promise<StepResult<K>>;
}
/** A step of the plan, of any kind. */
export type PlanStep = KindStep<StepKind>;

/** A version of B: the original, a FaceMAE release (by its model) or a baseline, and the step that makes it. */
export type SweepRow = { id: string; label: string } & (
  | { method: 'original' }
  | {
      method: 'facemae' | 'facemae-noirm';
      strength: number;
      pasteBack?: number;
      make: StepRef<'facemae'>;
      model: StepRef<'mae'>;
    }
  | { method: DistortionMethod; strength: number; make: StepRef<'baseline'> }
);

/** A row and the steps that measure it (verify and fr only when the sweep trains recognizers). */
export interface PlannedRow {
  row: SweepRow;
  privacy: StepRef<'privacy'>;
  fr?: StepRef<'fr'>;
  verify?: StepRef<'verify'>;
}

export interface SweepPlan {
  steps: PlanStep[];
  rows: PlannedRow[];
  mae: StepRef<'mae'>;
  grid: StepRef<'grids'>;
  /** The grid's column labels. */
  gridColumns: string[];
  /** Frees what the steps share (the attackers' embedders). */
  dispose(): Promise<void>;
}

/** What the steps need at run time. */
export interface PlanEnv {
  /** The run folder: the steps under steps/, the embedding cache under cache/. */
  out: string;
  deps: SweepDeps;
  log: (m: string) => void;
  progress: (stepId: string) => OnProgress;
}

/** The attackers a sweep config names. */
export function sweepAttackers(cfg: Pick<SweepConfig, 'attackers'>): AttackerSpec[] {
  return parseAttackerSuite(cfg.attackers, 'sweep config "attackers"');
}

/**
 * A result typed by its step's kind: the one place where the runner's JSON records become typed
 * results (the plan made them, so the kind is known).
 */
function resultAs<K extends StepKind>(_ref: StepRef<K>, r: SweepStepResult): StepResult<K> {
  return r as StepResult<K>;
}

/** The plan's steps for the runner (ids, configs and the dependencies' ids). */
export function runnerSteps(plan: SweepPlan): Step[] {
  return plan.steps.map((s) => ({
    id: s.id,
    config: s.config,
    deps: s.deps.map((d) => d.id),
    resumable: s.resumable,
    local: s.local,
    run: (ctx) =>
      s.run({
        outDir: ctx.outDir,
        result: (ref) => {
          const r = ctx.deps[ref.id];
          if (!r) throw new Error(`step "${s.id}" reads "${ref.id}", which it does not depend on`);
          return resultAs(ref, r);
        },
      }),
  }));
}

/** A step's outcome with its result typed (undefined: the step is not in the outcomes). */
export function outcomeOf<K extends StepKind>(
  outcomes: ReadonlyMap<string, StepOutcome>,
  ref: StepRef<K>,
): ReportedStep<StepResult<K>> | undefined {
  const o = outcomes.get(ref.id);
  if (!o) return undefined;
  const { result, ...rest } = o;
  return { ...rest, result: result && resultAs(ref, result) };
}

/**
 * Builds the sweep's steps in run order (dependencies first). Reads no images: a pretrained
 * FaceMAE's folder is looked for and fingerprinted, the config's row names are checked.
 */
export function planSweep(cfg: SweepConfig, env: PlanEnv): SweepPlan {
  const { deps, log, progress: prog } = env;
  const stepsDir = path.join(env.out, 'steps');
  const steps: PlanStep[] = [];
  const add = <K extends StepKind>(s: KindStep<K>): StepRef<K> => {
    steps.push(s);
    return { kind: s.kind, id: s.id };
  };
  const seed = cfg.seed;
  const ofB: OfB = { deploy: cfg.deploy, split: cfg.split };

  // B: a folder, a selection copied into the run, or the deployment part of a split (which also
  // makes A: the training folder plus the split's remainder).
  let deployDir: string;
  let trainDir = cfg.train;
  const deploySteps: StepRef[] = [];
  const trainSteps: StepRef[] = [];
  if (cfg.split) {
    const split = cfg.split;
    deployDir = path.join(stepsDir, STEP.split, 'deploy');
    trainDir = path.join(stepsDir, STEP.split, 'train');
    const ref = add({
      kind: 'split',
      id: STEP.split,
      local: true,
      deps: [],
      config: { split, train: cfg.train },
      run: async ({ outDir }) => materialiseSplit(cfg.train, split, outDir),
    });
    deploySteps.push(ref);
    trainSteps.push(ref);
  } else if (typeof cfg.deploy === 'string') {
    deployDir = cfg.deploy;
  } else {
    const sel = cfg.deploy;
    deployDir = path.join(stepsDir, STEP.deployData, 'images');
    deploySteps.push(
      add({
        kind: 'deploy-data',
        id: STEP.deployData,
        local: true,
        deps: [],
        config: sel,
        run: async ({ outDir }) => selectDeploy(sel, path.join(outDir, 'images')),
      }),
    );
  }
  /** The images of a version of B. */
  const imagesOf = (row: SweepRow) =>
    row.method === 'original' ? deployDir : path.join(stepsDir, row.make.id, RELEASE_IMAGES);
  /** The steps a version of B needs made. */
  const madeBy = (row: SweepRow): StepRef[] => (row.method === 'original' ? deploySteps : [row.make]);

  // The IRM teacher: trained on A here, or given.
  const teacherSteps: StepRef<'teacher'>[] = [];
  // A pretrained FaceMAE (when its folder exists) replaces training, and with it the teacher.
  const maePretrained = cfg.mae.pretrained && fs.existsSync(cfg.mae.pretrained);
  if (cfg.teacher === 'train' && !maePretrained) {
    teacherSteps.push(
      add({
        kind: 'teacher',
        id: STEP.teacher,
        resumable: true,
        deps: trainSteps,
        config: { data: cfg.train, split: cfg.split, train: cfg.teacherTrain, seed, size: cfg.size },
        run: async ({ outDir }) =>
          deps.trainRecognizer({
            data: trainDir,
            out: outDir,
            config: cfg.teacherTrain,
            seed,
            size: cfg.size,
            onProgress: prog(STEP.teacher),
          }),
      }),
    );
  }

  // FaceMAE (and its λ = 0 ablation): the pretrained run when it exists, else trained on A.
  const addMae = (
    id: MaeStepId,
    section: { pretrained: string | null; train: MaeTrainSection },
    teacherSpec: string | null,
  ): StepRef<'mae'> => {
    const pretrained = section.pretrained && fs.existsSync(section.pretrained) ? section.pretrained : null;
    const teacherStep = !pretrained && teacherSpec === 'train' ? teacherSteps[0] : undefined;
    return add({
      kind: 'mae',
      id,
      resumable: true,
      local: Boolean(pretrained),
      deps: pretrained ? [] : [...trainSteps, ...(teacherStep ? [teacherStep] : [])],
      // the weights' fingerprint, not just the path: a model replaced in place must redo its rows
      config: pretrained
        ? { pretrained, weights: modelFingerprint(pretrained) }
        : {
            data: cfg.train,
            split: cfg.split,
            teacher: teacherSpec,
            train: section.train,
            seed,
            size: cfg.size,
          },
      run: async (ctx) => {
        if (pretrained)
          return { run: pretrained, pretrained: true, teacher: findIrmTeacher(pretrained) ?? null };
        const teacher = teacherStep ? ctx.result(teacherStep).run : (teacherSpec ?? '');
        const r = await deps.trainMae({
          data: trainDir,
          out: ctx.outDir,
          teacher,
          config: section.train,
          seed,
          size: cfg.size,
          onProgress: prog(id),
        });
        return { run: r.run, pretrained: false, teacher: teacher || null };
      },
    });
  };
  const mae = addMae(STEP.mae, cfg.mae, cfg.teacher);
  const maeNoIrm = cfg.ablation ? addMae(STEP.maeNoIrm, cfg.ablation, null) : undefined;

  // Every version of B.
  const rows: SweepRow[] = [{ id: ROW.original, method: 'original', label: versionLabel('original') }];
  type Version = { r: number; pb: number; model: StepRef<'mae'>; method: 'facemae' | 'facemae-noirm' };
  const versions = [
    ...cfg.maskRatios.flatMap((r) =>
      cfg.pasteBack.map((pb): Version => ({ r, pb, model: mae, method: 'facemae' })),
    ),
    ...(cfg.ablation && maeNoIrm
      ? cfg.ablation.maskRatios.map((r): Version => ({ r, pb: 1, model: maeNoIrm, method: 'facemae-noirm' }))
      : []),
  ];
  for (const { r, pb, model, method } of versions) {
    // paste-back 1 keeps the row ids (and step configs) the sweep always had
    const knob = pb === 1 ? {} : { pasteBack: pb };
    const id = ROW.facemae(method, r, pb);
    const make = add({
      kind: 'facemae',
      id,
      resumable: true,
      deps: [model, ...deploySteps],
      config: { ratio: r, ...knob, seed, size: cfg.size, ...ofB },
      run: async (ctx) => {
        await deps.reconstruct({
          run: ctx.result(model).run,
          data: deployDir,
          out: ctx.outDir,
          maskRatio: r,
          ...knob,
          seed,
          size: cfg.size,
          onProgress: prog(id),
        });
        return { images: path.join(ctx.outDir, RELEASE_IMAGES) };
      },
    });
    const label = versionLabel(method, r, pb);
    rows.push({ id, method, label, strength: r, ...knob, make, model });
  }
  const baselineProtection = (method: DistortionMethod, strength: number): Protection => ({
    method,
    strength,
    ...(method === 'mask' ? { patchSize: cfg.patchSize } : {}),
  });
  for (const b of cfg.baselines) {
    const id = ROW.baseline(b);
    const make = add({
      kind: 'baseline',
      id,
      deps: deploySteps,
      config: { ...b, seed, size: cfg.size, patchSize: cfg.patchSize, ...ofB },
      run: async ({ outDir }) => ({
        ...(await protectDataset(deployDir, baselineProtection(b.method, b.strength), outDir, {
          seed,
          size: cfg.size,
          onProgress: prog(id),
        })),
      }),
    });
    rows.push({
      id,
      method: b.method,
      label: versionLabel(b.method, b.strength),
      strength: b.strength,
      make,
    });
  }

  // The attack on every version by the attacker suite (src/attack): the attackers know each
  // protection, so the adaptive ones get protect(A) made with the attacker's own seed (seed + 1;
  // the release's is secret). Embeddings are cached by content under <out>/cache, so each
  // original is embedded once per attacker across sets and re-runs.
  const attackers = sweepAttackers(cfg);
  const unknownSets = (cfg.parrotSets ?? []).filter((id) => !rows.some((s) => s.id === id));
  if (unknownSets.length > 0)
    throw new FaceMaeError(
      `parrotSets names ${unknownSets.join(', ')}, not rows of this sweep (${rows.map((s) => s.id).join(', ')})`,
      'E_CONFIG',
    );
  const adaptive = attackers.some((a) => a.kind !== 'frozen');
  const embedders = new Map<string, Embedder>();
  const getAttacker = async (a: string) => {
    let e = embedders.get(a);
    if (!e) embedders.set(a, (e = await deps.createEmbedder(a)));
    return e;
  };
  const cache = createEmbeddingCache(path.join(env.out, 'cache', 'embeddings'));
  let keys: Set<string> | undefined;
  const getKeys = async () =>
    cfg.privacyImagesPerIdentity === null
      ? undefined
      : (keys ??= firstImagesPerIdentity(await listSourceRecords(deployDir), cfg.privacyImagesPerIdentity));
  let publicA: ReturnType<typeof publicSubset> | undefined;
  const getPublic = async () =>
    (publicA ??= publicSubset(await listSourceRecords(trainDir), cfg.publicImagesPerIdentity));
  const protectionOf = (s: SweepRow, ctx: PlanContext): Protection => {
    if (s.method === 'original') return { method: 'original', strength: 0 };
    if (s.method === 'facemae' || s.method === 'facemae-noirm')
      return {
        method: 'facemae',
        strength: s.strength,
        model: ctx.result(s.model).run,
        ...(s.pasteBack !== undefined ? { pasteBack: s.pasteBack } : {}),
      };
    return baselineProtection(s.method, s.strength);
  };
  const modelOf = (s: SweepRow): StepRef<'mae'>[] =>
    s.method === 'facemae' || s.method === 'facemae-noirm' ? [s.model] : [];
  // the fitted attackers of a masked release inpaint it with the sweep's FaceMAE
  const inpaints = (s: SweepRow) => s.method === 'mask' && attackers.some((a) => fitsOnPublic(a.kind));
  const planned: PlannedRow[] = [];
  for (const s of rows) {
    // protect(A) for this protection (the original needs none: A itself)
    const publicId = ROW_STEP.public(s.id);
    const publicStep =
      adaptive && s.method !== 'original'
        ? add({
            kind: 'public',
            id: publicId,
            resumable: true,
            deps: [...trainSteps, ...modelOf(s)],
            config: {
              set: s.id,
              strength: s.strength,
              ...('pasteBack' in s && s.pasteBack !== undefined ? { pasteBack: s.pasteBack } : {}),
              perIdentity: cfg.publicImagesPerIdentity,
              seed: seed + 1,
              size: cfg.size,
              train: cfg.train,
              split: cfg.split,
            },
            run: async (ctx) => {
              const { files } = await getPublic();
              const images = await protectPublicSet({
                protection: protectionOf(s, ctx),
                data: trainDir,
                out: ctx.outDir,
                files,
                seed: seed + 1,
                size: cfg.size,
                onProgress: prog(publicId),
              });
              return { images };
            },
          })
        : undefined;
    // the parrot, fine-tuned on A ∪ protect(A) (a heavy step: it goes to a child with --jobs);
    // on the original there is nothing to learn, so its parrot is the unchanged model
    const setAttackers = attackers.filter(
      (a) => a.kind !== 'parrot' || cfg.parrotSets === null || cfg.parrotSets.includes(s.id),
    );
    const parrotModels = [...new Set(setAttackers.filter((a) => a.kind === 'parrot').map((a) => a.model))];
    const parrotSteps = publicStep
      ? parrotModels.map((model, i) => {
          const id = ROW_STEP.parrot(s.id, i, parrotModels.length);
          return add({
            kind: 'parrot',
            id,
            resumable: true,
            deps: [publicStep, ...trainSteps],
            config: { model, recipe: cfg.parrot, perIdentity: cfg.publicImagesPerIdentity, seed: seed + 1 },
            run: async (ctx) => {
              const { files } = await getPublic();
              const data = parrotData({
                original: trainDir,
                protected: ctx.result(publicStep).images,
                files,
                out: path.join(ctx.outDir, 'data'),
              });
              const run = await trainParrot({
                model,
                data,
                out: path.join(ctx.outDir, 'run'),
                recipe: cfg.parrot,
                onProgress: prog(id),
                onWarning: log,
              });
              return { model, run };
            },
          });
        })
      : [];
    const makers = [
      ...madeBy(s),
      ...modelOf(s),
      ...(inpaints(s) ? [mae] : []),
      ...(publicStep ? [publicStep] : []),
      ...parrotSteps,
    ];
    const id = ROW_STEP.privacy(s.id);
    const privacy = add({
      kind: 'privacy',
      id,
      // in this process: the attackers and the embedding cache are shared by every set
      local: true,
      deps: adaptive ? [...makers, ...trainSteps] : makers,
      // (B's identity in the config: a changed split or selection redoes the attack)
      config: {
        attackers: setAttackers.map((a) => a.name),
        parrot: parrotModels.length > 0 ? cfg.parrot : undefined,
        seed,
        allowSame: cfg.allowSameAttacker,
        ...ofB,
        perIdentity: cfg.privacyImagesPerIdentity,
        publicPerIdentity: adaptive ? cfg.publicImagesPerIdentity : undefined,
        inpaint: inpaints(s) || undefined,
      },
      run: async (ctx) => {
        const [model] = modelOf(s);
        const teacher =
          (model ? ctx.result(model).teacher : undefined) ??
          (cfg.teacher === 'train' ? undefined : cfg.teacher);
        // Every model is checked before any is run: one teacher among them fails the step.
        const models = [...new Set(setAttackers.map((a) => a.model))];
        const isTeacher = new Map(
          models.map((m) => [
            m,
            s.method === 'facemae'
              ? checkAttackerIndependence(m, teacher ?? undefined, {
                  allowSame: cfg.allowSameAttacker,
                  onWarning: log,
                }).same
              : false,
          ]),
        );
        const pub = adaptive ? await getPublic() : undefined;
        // a masked release is filled by the sweep's own FaceMAE, the public model
        const inpainter = inpaints(s)
          ? await createMaeInpainter(ctx.result(mae).run, { patchSize: cfg.patchSize })
          : undefined;
        const r = await attack({
          original: deployDir,
          protected: imagesOf(s),
          protection: protectionOf(s, ctx),
          attackers: setAttackers,
          parrots: Object.fromEntries(
            parrotModels.map((m, i) => {
              const parrot = parrotSteps[i];
              return [m, parrot ? ctx.result(parrot).run : m];
            }),
          ),
          embedder: getAttacker,
          fingerprint: attackerFingerprint,
          public: pub
            ? {
                original: trainDir,
                protected: publicStep ? ctx.result(publicStep).images : trainDir,
                keys: pub.keys,
              }
            : undefined,
          keys: await getKeys(),
          cache,
          seed,
          batchSize: cfg.batchSize,
          onProgress: prog(id),
          onLog: (m) => log(`  ${id}: ${m}`),
          inpainter,
        }).finally(() => inpainter?.dispose());
        const byAttacker: SweepPrivacyResult['attackers'] = {};
        for (const [name, m] of Object.entries(r.attackers))
          byAttacker[name] = { ...m, attackerIsTeacher: isTeacher.get(m.model) ?? false };
        return { attackers: byAttacker, worst: r.worst };
      },
    });
    planned.push({ row: s, privacy });
  }

  // Utility: the same recognizer trained on every version (or the rows named), verified on T.
  const utilityRows = cfg.utility;
  if (Array.isArray(utilityRows)) {
    const unknown = utilityRows.filter((id) => !planned.some((p) => p.row.id === id));
    if (unknown.length)
      throw new FaceMaeError(
        `sweep config "utility" names no row ${unknown.map((u) => `"${u}"`).join(', ')}; the rows are ${planned.map((p) => p.row.id).join(', ')}`,
        'E_CONFIG',
      );
  }
  const trained = planned.filter(
    (p) => utilityRows === true || (Array.isArray(utilityRows) && utilityRows.includes(p.row.id)),
  );
  for (const p of trained) {
    const s = p.row;
    const frId = ROW_STEP.fr(s.id);
    p.fr = add({
      kind: 'fr',
      id: frId,
      resumable: true,
      deps: madeBy(s),
      config: { recognizer: cfg.recognizer, seed, size: cfg.size, ...ofB },
      run: async ({ outDir }) =>
        deps.trainRecognizer({
          data: imagesOf(s),
          out: outDir,
          config: cfg.recognizer,
          seed,
          size: cfg.size,
          onProgress: prog(frId),
        }),
    });
    const fr = p.fr;
    const verifyId = ROW_STEP.verify(s.id);
    // T is read at the size the recognizer was trained at.
    const size = cfg.recognizer.inputSize ?? cfg.size;
    p.verify = add({
      kind: 'verify',
      id: verifyId,
      deps: [fr],
      config: { sets: cfg.verify, size },
      run: async (ctx) => {
        const out: SweepVerifyResult = {};
        for (const v of cfg.verify)
          out[v] = await deps.verify({
            model: ctx.result(fr).run,
            set: v,
            size,
            batchSize: cfg.batchSize,
            onProgress: prog(verifyId),
          });
        return out;
      },
    });
  }

  // Image grid: one image of each of the first identities, across every version.
  const gridColumns = [
    'original',
    ...cfg.maskRatios.flatMap((r) => [`masked ${r}`, `FaceMAE ${r}`]),
    ...cfg.baselines.map((b) => `${b.method} ${b.strength}`),
  ];
  const release = (id: string): GridColumn => ({
    kind: 'release',
    images: path.join(stepsDir, id, RELEASE_IMAGES),
  });
  const grid = add({
    kind: 'grids',
    id: STEP.grids,
    local: true,
    deps: [...new Map(rows.flatMap(madeBy).map((d) => [d.id, d])).values()],
    config: { rows: cfg.gridRows, cols: gridColumns, seed, patchSize: cfg.patchSize, masks: 'manifest' },
    run: async ({ outDir }) =>
      writeSweepGrid({
        deploy: deployDir,
        rows: cfg.gridRows,
        // the masks FaceMAE actually drew, from the reconstruction manifests (when written)
        columns: [
          ...cfg.maskRatios.flatMap((r): GridColumn[] => [
            {
              kind: 'masked',
              ratio: r,
              manifest: path.join(stepsDir, ROW.facemae('facemae', r), RELEASE_MANIFEST),
            },
            release(ROW.facemae('facemae', r)),
          ]),
          ...cfg.baselines.map((b) => release(ROW.baseline(b))),
        ],
        size: cfg.size,
        patchSize: cfg.patchSize,
        seed,
        file: path.join(outDir, 'grid.png'),
      }),
  });

  return {
    steps,
    rows: planned,
    mae,
    grid,
    gridColumns,
    async dispose() {
      for (const e of embedders.values()) await e.dispose();
    },
  };
}
