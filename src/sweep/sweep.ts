/**
 * The FaceMAE privacy–utility sweep (FaceMAE, Wang, Zhao et al. 2022, Sec. 4): train FaceMAE on A,
 * protect the deployment set B with FaceMAE at several mask ratios and with each baseline, attack
 * every version of B, train the same recognizer on every version, verify on T, and write the
 * report. Each stage is a cached, resumable step of ./runner.ts under `<out>/steps/`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { saveResolvedConfig } from '../config/resolve.js';
import { FaceMaeError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { listImageFolder, readImage } from '../data/image-folder.js';
import { listSourceRecords, openFaceSource, recordFileName, sourceRecords } from '../data/source.js';
import { RELEASE_IMAGES, RELEASE_MANIFEST } from '../data/release.js';
import { splitIdentities } from '../data/split.js';
import { readManifest } from '../protect/manifest.js';
import { protectDataset } from '../protect/protect-dataset.js';
import { fillPatches, maskPatches } from '../protect/distortions.js';
import { checkAttackerIndependence, firstImagesPerIdentity, keyOf } from '../protect/privacy-audit.js';
import { findIrmTeacher } from '../loaders/provenance.js';
import { attack, type AttackerResult, type WorstCase } from '../attack/attack.js';
import { attackerFingerprint } from '../attack/audit.js';
import { createEmbeddingCache } from '../attack/embed.js';
import type { Protection } from '../protect/protection.js';
import { createMaeInpainter } from '../attack/inpaint.js';
import { parrotData, trainParrot } from '../attack/parrot.js';
import { protectPublicSet, publicSubset } from '../attack/public-set.js';
import { fitsOnPublic, parseAttackerSuite, type AttackerSpec } from '../attack/suite.js';
import type { RetrievalMetrics } from '../eval/retrieval.js';
import type { DistortionMethod } from '../protect/distortions.js';
import { composeGrid } from '../report/grid.js';
import type { PrivacyFigures, ReportData, ReportRow, UtilityFigures } from '../report/types.js';
import { toEvidence, versionLabel } from '../report/evidence.js';
import { writePng, writeReport } from '../report/write.js';
import { writeJsonAtomic } from '../core/fs.js';
import type { Embedder, FaceRecord, OnProgress, RgbImage } from '../types.js';
import type { MaeTrainSection, RecognizerSection, SplitConfig, SweepConfig } from './config.js';
import { hasCheckpoint, readCheckpointInfo } from '../data/checkpoint.js';
import { runSteps, type Step, type StepOutcome, type SweepStepResult } from './runner.js';
import { addUtilityStatistics } from './statistics.js';
import { modelFingerprint } from '../loaders/model-fingerprint.js';

/** The other areas' functions the sweep calls; injectable so tests can run a tiny fake sweep. */
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
  }): Promise<{ run: string }>;
  createEmbedder(spec: string): Promise<Embedder>;
  verify(a: {
    model: string;
    set: string;
    size: number;
    batchSize: number;
    onProgress?: OnProgress;
  }): Promise<UtilityFigures>;
}

export interface SweepOptions {
  out: string;
  deps: SweepDeps;
  /** Where relative steps put their logs; progress per step. */
  onLog?: (msg: string) => void;
  onProgress?: (step: string, done: number, total: number, status?: string) => void;
  /** Steps at once (default 1); above 1, the heavy steps go through `execute` (see runSteps). */
  jobs?: number;
  /** Runs one step in another process (`facemae sweep --only ID`); see cli-run.ts. */
  execute?: (stepId: string) => Promise<void>;
  /**
   * Runs this step alone (what `execute`'s child does): what it needs must be done; nothing else
   * runs, and neither the resolved config nor the report is written.
   */
  only?: string;
}

interface ProtectedSet {
  id: string;
  method: string;
  label: string;
  strength?: number;
  /** FaceMAE rows: the release knob (weight of the real pixels on the visible patches). */
  pasteBack?: number;
  /** Step id that makes the set (undefined for the original). */
  step?: string;
}

const setDir = (stepsDir: string, s: ProtectedSet, deployDir: string) =>
  s.step ? path.join(stepsDir, s.step, RELEASE_IMAGES) : deployDir;

/** Copies a selection of identities/images (sorted, deterministic) into `out`. */
async function selectDeploy(
  sel: Exclude<SweepConfig['deploy'], string>,
  out: string,
): Promise<{ identities: number; images: number }> {
  const { records, identities } = await listImageFolder(sel.dir);
  const exclude = new Set(sel.exclude ?? []);
  for (const f of sel.excludeListed ?? []) {
    if (!fs.existsSync(f))
      throw new FaceMaeError(`deploy.excludeListed file ${f} does not exist`, 'E_NOT_FOUND');
    for (const tok of fs.readFileSync(f, 'utf8').split(/\s+/))
      if (tok && !/^\d+$/.test(tok)) exclude.add(tok);
  }
  const byId = new Map<string, string[]>();
  for (const r of records) byId.set(r.identity, [...(byId.get(r.identity) ?? []), r.path]);
  const chosen = identities
    .filter((id) => !exclude.has(id) && (byId.get(id)?.length ?? 0) >= sel.minImages)
    .slice(0, sel.maxIdentities);
  if (chosen.length < 2) {
    throw new FaceMaeError(
      `deploy selection from ${sel.dir} found ${chosen.length} identities with >= ${sel.minImages} images; lower minImages`,
      'E_CONFIG',
    );
  }
  let n = 0;
  for (const id of chosen) {
    for (const f of byId.get(id)!.slice(0, sel.maxImagesPerIdentity)) {
      fs.mkdirSync(path.join(out, id), { recursive: true });
      fs.copyFileSync(f, path.join(out, id, path.basename(f)));
      n++;
    }
  }
  return { identities: chosen.length, images: n };
}

/**
 * Copies the images of `ids` from a listing into `<dst>/<prefix><id>/` (at most `max` per
 * identity, in the listing's sorted order); returns the image count.
 */
function copyIdentities(
  records: readonly FaceRecord[],
  ids: readonly string[],
  dst: string,
  opts: { prefix?: string; max?: number | null } = {},
): number {
  const wanted = new Set(ids);
  const keep = opts.max != null ? firstImagesPerIdentity(records, opts.max) : undefined;
  let n = 0;
  for (const r of records) {
    if (!wanted.has(r.identity) || (keep && !keep.has(keyOf(r)))) continue;
    const to = path.join(dst, (opts.prefix ?? '') + r.identity);
    fs.mkdirSync(to, { recursive: true });
    fs.copyFileSync(r.path, path.join(to, path.basename(r.path)));
    n++;
  }
  return n;
}

/**
 * The evidence protocol's data: B = the split's deployment identities (`<out>/deploy`), A = the
 * training folder's identities plus the split's remainder, prefixed (`<out>/train`). Copies, not
 * links: the image lister reads plain files only.
 */
async function materialiseSplit(trainDir: string, split: SplitConfig, out: string): Promise<SweepStepResult> {
  const pool = await listImageFolder(split.dir);
  const s = splitIdentities(pool.identities, { seed: split.seed, deployCount: split.deployIdentities });
  const pub = await listImageFolder(trainDir);
  const deployImages = copyIdentities(pool.records, s.deploy, path.join(out, 'deploy'), {
    max: split.maxImagesPerIdentity,
  });
  const trainImages =
    copyIdentities(pub.records, pub.identities, path.join(out, 'train'), { prefix: split.trainPrefix }) +
    copyIdentities(pool.records, s.rest, path.join(out, 'train'), { prefix: split.restPrefix });
  const trainIds = pub.identities;
  const summary = {
    deployIdentities: s.deploy.length,
    deployImages,
    trainIdentities: trainIds.length + s.rest.length,
    trainImages,
    deploy: s.deploy,
  };
  fs.writeFileSync(path.join(out, 'split.json'), JSON.stringify(summary, null, 1));
  return { ...summary, deploy: undefined };
}

/** One image of a deployment set by its record (a file, or a .rec record). */
async function readRecord(data: string, rec: FaceRecord, size: number): Promise<RgbImage> {
  if (!rec.path.includes('.rec#')) return readImage(rec.path, { size });
  const src = await openFaceSource(data);
  try {
    const i = sourceRecords(src).findIndex((r) => r.path === rec.path);
    return await src.read(i, { size });
  } finally {
    await src.close();
  }
}

/** `<identity>/<file>` -> kept patch indices, from a FaceMAE release's manifest (empty when absent). */
function readKeptPatches(file: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of readManifest(file).values())
    if ('keep' in m)
      out.set(`${m.identity}/${recordFileName({ path: m.source, identity: m.identity, label: 0 })}`, m.keep);
  return out;
}

/** The image with every patch not in `keep` set to gray (what the MAE encoder saw). */
function maskWithKeep(img: RgbImage, keep: number[], p: number): RgbImage {
  const mask = new Uint8Array((img.width / p) * (img.height / p)).fill(1);
  for (const k of keep) mask[k] = 0;
  return fillPatches(img, mask, p);
}

/** Builds the step list and runs it; returns the report path and the step outcomes. */
export async function runSweep(
  cfg: SweepConfig,
  opts: SweepOptions,
): Promise<{ report: string; outcomes: Map<string, StepOutcome>; data: ReportData }> {
  const { deps } = opts;
  const stepsDir = path.join(opts.out, 'steps');
  fs.mkdirSync(stepsDir, { recursive: true });
  if (!opts.only) saveResolvedConfig(opts.out, 'sweep', cfg);
  const log = opts.onLog ?? (() => {});
  const prog =
    (id: string): OnProgress =>
    (d, t, s) =>
      opts.onProgress?.(id, d, t, s);
  const steps: Step[] = [];
  const seed = cfg.seed;

  // B: a folder, a selection copied into the run, or the deployment part of a split (which also
  // makes A: the training folder plus the split's remainder).
  let deployDir: string;
  let trainDir = cfg.train;
  const deploySteps: string[] = [];
  const trainSteps: string[] = [];
  if (cfg.split) {
    const split = cfg.split;
    deployDir = path.join(stepsDir, 'split', 'deploy');
    trainDir = path.join(stepsDir, 'split', 'train');
    steps.push({
      id: 'split',
      local: true,
      config: { split, train: cfg.train },
      run: async ({ outDir }) => materialiseSplit(cfg.train, split, outDir),
    });
    deploySteps.push('split');
    trainSteps.push('split');
  } else if (typeof cfg.deploy === 'string') {
    deployDir = cfg.deploy;
  } else {
    const sel = cfg.deploy;
    deployDir = path.join(stepsDir, 'deploy-data', 'images');
    steps.push({
      id: 'deploy-data',
      local: true,
      config: sel,
      run: async ({ outDir }) => selectDeploy(sel, path.join(outDir, 'images')),
    });
    deploySteps.push('deploy-data');
  }

  // The IRM teacher: trained on A here, or given.
  const teacherSteps: string[] = [];
  // A pretrained FaceMAE (when its folder exists) replaces training, and with it the teacher.
  const maePretrained = cfg.mae.pretrained && fs.existsSync(cfg.mae.pretrained);
  if (cfg.teacher === 'train' && !maePretrained) {
    steps.push({
      id: 'teacher',
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
          onProgress: prog('teacher'),
        }),
    });
    teacherSteps.push('teacher');
  }

  // FaceMAE (and its λ = 0 ablation): the pretrained run when it exists, else trained on A.
  const addMae = (
    id: 'mae' | 'mae-noirm',
    section: { pretrained: string | null; train: MaeTrainSection },
    teacherSpec: string | null,
  ) => {
    const pretrained = section.pretrained && fs.existsSync(section.pretrained) ? section.pretrained : null;
    const needsTeacher = !pretrained && teacherSpec === 'train';
    steps.push({
      id,
      resumable: true,
      local: Boolean(pretrained),
      deps: pretrained ? [] : [...trainSteps, ...(needsTeacher ? teacherSteps : [])],
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
      run: async ({ outDir, deps: d }) => {
        if (pretrained)
          return { run: pretrained, pretrained: true, teacher: findIrmTeacher(pretrained) ?? null };
        const teacher = needsTeacher ? (d.teacher?.run as string) : (teacherSpec ?? '');
        const r = await deps.trainMae({
          data: trainDir,
          out: outDir,
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
  addMae('mae', cfg.mae, cfg.teacher);
  if (cfg.ablation) addMae('mae-noirm', cfg.ablation, null);

  // Every version of B.
  const sets: ProtectedSet[] = [{ id: 'original', method: 'original', label: versionLabel('original') }];
  const versions = [
    ...cfg.maskRatios.flatMap((r) => cfg.pasteBack.map((pb) => ({ r, pb, model: 'mae', method: 'facemae' }))),
    ...(cfg.ablation?.maskRatios ?? []).map((r) => ({
      r,
      pb: 1,
      model: 'mae-noirm',
      method: 'facemae-noirm',
    })),
  ];
  for (const { r, pb, model, method } of versions) {
    // paste-back 1 keeps the row ids (and step configs) the sweep always had
    const id = `${method}-r${r}${pb === 1 ? '' : `-pb${pb}`}`;
    const label = versionLabel(method, r) + (pb === 1 ? '' : `, paste-back ${pb}`);
    sets.push({ id, method, label, strength: r, step: id, ...(pb === 1 ? {} : { pasteBack: pb }) });
    steps.push({
      id,
      resumable: true,
      deps: [model, ...deploySteps],
      config: {
        ratio: r,
        ...(pb === 1 ? {} : { pasteBack: pb }),
        seed,
        size: cfg.size,
        deploy: cfg.deploy,
        split: cfg.split,
      },
      run: async ({ outDir, deps: d }) => {
        await deps.reconstruct({
          run: d[model]!.run as string,
          data: deployDir,
          out: outDir,
          maskRatio: r,
          ...(pb === 1 ? {} : { pasteBack: pb }),
          seed,
          size: cfg.size,
          onProgress: prog(id),
        });
        return { images: path.join(outDir, RELEASE_IMAGES) };
      },
    });
  }
  const baselineProtection = (method: DistortionMethod, strength: number): Protection => ({
    method,
    strength,
    ...(method === 'mask' ? { patchSize: cfg.patchSize } : {}),
  });
  for (const b of cfg.baselines) {
    const id = `${b.method}-${b.strength}`;
    sets.push({
      id,
      method: b.method,
      label: versionLabel(b.method, b.strength),
      strength: b.strength,
      step: id,
    });
    steps.push({
      id,
      deps: deploySteps,
      config: { ...b, seed, size: cfg.size, patchSize: cfg.patchSize, deploy: cfg.deploy, split: cfg.split },
      run: async ({ outDir }) =>
        ({
          ...(await protectDataset(deployDir, baselineProtection(b.method, b.strength), outDir, {
            seed,
            size: cfg.size,
            onProgress: prog(id),
          })),
        }) as SweepStepResult,
    });
  }

  // The attack on every version by the attacker suite (src/attack): the attackers know each
  // protection, so the adaptive ones get protect(A) made with the attacker's own seed (seed + 1;
  // the release's is secret). Embeddings are cached by content under <out>/cache, so each
  // original is embedded once per attacker across sets and re-runs.
  const attackers = sweepAttackers(cfg);
  const unknownSets = (cfg.parrotSets ?? []).filter((id) => !sets.some((s) => s.id === id));
  if (unknownSets.length > 0)
    throw new FaceMaeError(
      `parrotSets names ${unknownSets.join(', ')}, not rows of this sweep (${sets.map((s) => s.id).join(', ')})`,
      'E_CONFIG',
    );
  const adaptive = attackers.some((a) => a.kind !== 'frozen');
  const embedders = new Map<string, Embedder>();
  const getAttacker = async (a: string) => {
    let e = embedders.get(a);
    if (!e) embedders.set(a, (e = await deps.createEmbedder(a)));
    return e;
  };
  const cache = createEmbeddingCache(path.join(opts.out, 'cache', 'embeddings'));
  let keys: Set<string> | undefined;
  const getKeys = async () =>
    cfg.privacyImagesPerIdentity === null
      ? undefined
      : (keys ??= firstImagesPerIdentity(await listSourceRecords(deployDir), cfg.privacyImagesPerIdentity));
  let publicA: ReturnType<typeof publicSubset> | undefined;
  const getPublic = async () =>
    (publicA ??= publicSubset(await listSourceRecords(trainDir), cfg.publicImagesPerIdentity));
  const protectionOf = (s: ProtectedSet, d: Record<string, Record<string, unknown>>): Protection =>
    s.method === 'original'
      ? { method: 'original', strength: 0 }
      : s.method === 'facemae' || s.method === 'facemae-noirm'
        ? {
            method: 'facemae',
            strength: s.strength!,
            model: d[s.method === 'facemae' ? 'mae' : 'mae-noirm']!.run as string,
            ...(s.pasteBack !== undefined ? { pasteBack: s.pasteBack } : {}),
          }
        : baselineProtection(s.method as DistortionMethod, s.strength!);
  const maeOf = (s: ProtectedSet) =>
    s.method === 'facemae' ? ['mae'] : s.method === 'facemae-noirm' ? ['mae-noirm'] : [];
  // the fitted attackers of a masked release inpaint it with the sweep's FaceMAE
  const inpaints = (s: ProtectedSet) => s.method === 'mask' && attackers.some((a) => fitsOnPublic(a.kind));
  for (const s of sets) {
    // protect(A) for this protection (the original needs none: A itself)
    const publicStep = adaptive && s.method !== 'original' ? `public-${s.id}` : undefined;
    if (publicStep)
      steps.push({
        id: publicStep,
        resumable: true,
        deps: [...trainSteps, ...maeOf(s)],
        config: {
          set: s.id,
          strength: s.strength,
          ...(s.pasteBack !== undefined ? { pasteBack: s.pasteBack } : {}),
          perIdentity: cfg.publicImagesPerIdentity,
          seed: seed + 1,
          size: cfg.size,
          train: cfg.train,
          split: cfg.split,
        },
        run: async ({ outDir, deps: d }) => {
          const { files } = await getPublic();
          const images = await protectPublicSet({
            protection: protectionOf(s, d),
            data: trainDir,
            out: outDir,
            files,
            seed: seed + 1,
            size: cfg.size,
            onProgress: prog(publicStep),
          });
          return { images };
        },
      });
    // the parrot, fine-tuned on A ∪ protect(A) (a heavy step: it goes to a child with --jobs);
    // on the original there is nothing to learn, so its parrot is the model as it is
    const setAttackers = attackers.filter(
      (a) => a.kind !== 'parrot' || cfg.parrotSets === null || cfg.parrotSets.includes(s.id),
    );
    const parrotModels = [...new Set(setAttackers.filter((a) => a.kind === 'parrot').map((a) => a.model))];
    const parrotSteps = publicStep
      ? parrotModels.map((model, i) => {
          const id = `parrot-${s.id}${parrotModels.length > 1 ? `-${i + 1}` : ''}`;
          steps.push({
            id,
            resumable: true,
            deps: [publicStep, ...trainSteps],
            config: { model, recipe: cfg.parrot, perIdentity: cfg.publicImagesPerIdentity, seed: seed + 1 },
            run: async ({ outDir, deps: d }) => {
              const { files } = await getPublic();
              const data = parrotData({
                original: trainDir,
                protected: d[publicStep]!.images as string,
                files,
                out: path.join(outDir, 'data'),
              });
              const run = await trainParrot({
                model,
                data,
                out: path.join(outDir, 'run'),
                recipe: cfg.parrot,
                onProgress: prog(id),
                onWarning: log,
              });
              return { model, run };
            },
          });
          return id;
        })
      : [];
    const makers = [
      ...(s.step ? [s.step] : deploySteps),
      ...maeOf(s),
      ...(inpaints(s) ? ['mae'] : []),
      ...(publicStep ? [publicStep] : []),
      ...parrotSteps,
    ];
    steps.push({
      id: `privacy-${s.id}`,
      // in this process: the attackers and the embedding cache are shared by every set
      local: true,
      deps: adaptive ? [...makers, ...trainSteps] : makers,
      // (B's identity in the config: a changed split or selection redoes the attack)
      config: {
        attackers: setAttackers.map((a) => a.name),
        parrot: parrotModels.length > 0 ? cfg.parrot : undefined,
        seed,
        allowSame: cfg.allowSameAttacker,
        deploy: cfg.deploy,
        split: cfg.split,
        perIdentity: cfg.privacyImagesPerIdentity,
        publicPerIdentity: adaptive ? cfg.publicImagesPerIdentity : undefined,
        inpaint: inpaints(s) || undefined,
      },
      run: async ({ deps: d }) => {
        const teacher =
          (d[maeOf(s)[0] ?? 'mae']?.teacher as string | null | undefined) ??
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
          ? await createMaeInpainter(d.mae!.run as string, { patchSize: cfg.patchSize })
          : undefined;
        const r = await attack({
          original: deployDir,
          protected: setDir(stepsDir, s, deployDir),
          protection: protectionOf(s, d),
          attackers: setAttackers,
          parrots: Object.fromEntries(
            parrotModels.map((m, i) => [m, publicStep ? (d[parrotSteps[i]!]!.run as string) : m]),
          ),
          embedder: getAttacker,
          fingerprint: attackerFingerprint,
          public: pub
            ? {
                original: trainDir,
                protected: publicStep ? (d[publicStep]!.images as string) : trainDir,
                keys: pub.keys,
              }
            : undefined,
          keys: await getKeys(),
          cache,
          seed,
          batchSize: cfg.batchSize,
          onProgress: prog(`privacy-${s.id}`),
          onLog: (m) => log(`  privacy-${s.id}: ${m}`),
          inpainter,
        }).finally(() => inpainter?.dispose());
        const byAttacker: SweepPrivacyResult['attackers'] = {};
        for (const [name, m] of Object.entries(r.attackers))
          byAttacker[name] = { ...m, attackerIsTeacher: isTeacher.get(m.model) ?? false };
        return { attackers: byAttacker, worst: r.worst } as unknown as SweepStepResult;
      },
    });
  }

  // Utility: the same recognizer trained on every version, verified on T.
  for (const s of cfg.utility ? sets : []) {
    steps.push({
      id: `fr-${s.id}`,
      resumable: true,
      deps: s.step ? [s.step] : deploySteps,
      config: { recognizer: cfg.recognizer, seed, size: cfg.size, deploy: cfg.deploy, split: cfg.split },
      run: async ({ outDir }) =>
        deps.trainRecognizer({
          data: setDir(stepsDir, s, deployDir),
          out: outDir,
          config: cfg.recognizer,
          seed,
          size: cfg.size,
          onProgress: prog(`fr-${s.id}`),
        }),
    });
    steps.push({
      id: `verify-${s.id}`,
      deps: [`fr-${s.id}`],
      // T is read at the size the recognizer was trained at.
      config: { sets: cfg.verify, size: cfg.recognizer.inputSize ?? cfg.size },
      run: async ({ deps: d }) => {
        const out: Record<string, UtilityFigures> = {};
        for (const v of cfg.verify)
          out[v] = await deps.verify({
            model: d[`fr-${s.id}`]!.run as string,
            set: v,
            size: cfg.recognizer.inputSize ?? cfg.size,
            batchSize: cfg.batchSize,
            onProgress: prog(`verify-${s.id}`),
          });
        return out as unknown as SweepStepResult;
      },
    });
  }

  // Image grid: one image of each of the first identities, across every version.
  const gridCols = [
    'original',
    ...cfg.maskRatios.flatMap((r) => [`masked ${r}`, `FaceMAE ${r}`]),
    ...cfg.baselines.map((b) => `${b.method} ${b.strength}`),
  ];
  steps.push({
    id: 'grids',
    local: true,
    deps: [...new Set(sets.flatMap((s) => (s.step ? [s.step] : deploySteps)))],
    config: { rows: cfg.gridRows, cols: gridCols, seed, patchSize: cfg.patchSize, masks: 'manifest' },
    run: async ({ outDir }) => {
      const records = await listSourceRecords(deployDir);
      const firsts = records
        .filter((r, i) => i === 0 || records[i - 1]!.identity !== r.identity)
        .slice(0, cfg.gridRows);
      const rng = createRng(seed).fork('grid');
      const rows: Array<Array<RgbImage | undefined>> = [];
      const find = async (dir: string, rec: FaceRecord) => {
        const stem = path.parse(recordFileName(rec)).name;
        const folder = path.join(dir, rec.identity);
        const f = fs.existsSync(folder)
          ? fs.readdirSync(folder).find((x) => path.parse(x).name === stem)
          : undefined;
        return f ? readImage(path.join(folder, f), { size: cfg.size }) : undefined;
      };
      // The masks FaceMAE actually drew, from the reconstruction manifests (when written).
      const kept = new Map<number, Map<string, number[]>>();
      for (const r of cfg.maskRatios)
        kept.set(r, readKeptPatches(path.join(stepsDir, `facemae-r${r}`, RELEASE_MANIFEST)));
      for (const rec of firsts) {
        const orig = await readRecord(deployDir, rec, cfg.size);
        const row: Array<RgbImage | undefined> = [orig];
        for (const r of cfg.maskRatios) {
          const keep = kept.get(r)?.get(`${rec.identity}/${recordFileName(rec)}`);
          row.push(
            keep
              ? maskWithKeep(orig, keep, cfg.patchSize)
              : maskPatches(orig, r, rng.fork(`${rec.identity}/${r}`), { patchSize: cfg.patchSize }).image,
          );
          row.push(await find(path.join(stepsDir, `facemae-r${r}`, RELEASE_IMAGES), rec));
        }
        for (const b of cfg.baselines)
          row.push(await find(path.join(stepsDir, `${b.method}-${b.strength}`, RELEASE_IMAGES), rec));
        rows.push(row);
      }
      await writePng(path.join(outDir, 'grid.png'), composeGrid(rows, cfg.size, 4));
      return { file: path.join(outDir, 'grid.png'), rows: rows.length };
    },
  });

  let outcomes: Map<string, StepOutcome>;
  try {
    outcomes = await runSteps(steps, {
      dir: stepsDir,
      jobs: opts.jobs,
      execute: opts.execute ? (step) => opts.execute!(step.id) : undefined,
      only: opts.only,
      onEvent: (e) => {
        if (opts.only) return; // a child of --jobs: the parent says when its step starts and ends
        if (e.type === 'start') log(`[${e.index + 1}/${e.total}] ${e.id} …`);
        else if (e.outcome.status !== 'cached')
          log(
            `  ${e.outcome.id}: ${e.outcome.status}${e.outcome.error ? ` (${e.outcome.error})` : ''} in ${e.seconds.toFixed(1)} s`,
          );
      },
    });
  } finally {
    for (const e of embedders.values()) await e.dispose();
  }

  const data = collectReport(cfg, sets, outcomes, gridCols);
  if (opts.only) return { report: '', outcomes, data };
  const reportDir = path.join(opts.out, 'report');
  const grid = outcomes.get('grids');
  // (a grid restored from a done-marker alone, without its image, is left out of the report)
  if (grid?.result?.file && fs.existsSync(grid.result.file as string)) {
    fs.mkdirSync(reportDir, { recursive: true });
    fs.copyFileSync(grid.result.file as string, path.join(reportDir, 'grid.png'));
  }
  const report = await writeReport(reportDir, data);
  const frSteps = Object.fromEntries(
    sets.flatMap((x) => {
      const r = outcomes.get(`fr-${x.id}`)?.result;
      // Steps cached by an older sweep carry no count: the run's checkpoint has it.
      const n = typeof r?.steps === 'number' ? r.steps : stepsOfRun(r?.run);
      return n === null ? [] : [[x.id, n]];
    }),
  );
  writeJsonAtomic(path.join(reportDir, 'evidence.json'), toEvidence(data, protocolOf(cfg), frSteps));
  return { report, outcomes, data };
}

/** The step count of a recognizer run folder (null when there is none to read). */
function stepsOfRun(run: unknown): number | null {
  if (typeof run !== 'string' || !hasCheckpoint(run)) return null;
  return readCheckpointInfo(run).step;
}

/** What a results file must state to be reproduced: the sets, models, attackers and recipe. */
function protocolOf(cfg: SweepConfig): Record<string, unknown> {
  return {
    name: cfg.name,
    seed: cfg.seed,
    size: cfg.size,
    train: cfg.train,
    split: cfg.split,
    deploy: cfg.deploy || null,
    verify: cfg.verify,
    teacher: cfg.teacher,
    attackers: sweepAttackers(cfg).map((a) => a.name),
    privacyImagesPerIdentity: cfg.privacyImagesPerIdentity,
    publicImagesPerIdentity: cfg.publicImagesPerIdentity,
    mae: cfg.mae,
    ablation: cfg.ablation,
    maskRatios: cfg.maskRatios,
    baselines: cfg.baselines,
    recognizer: cfg.recognizer,
    utility: cfg.utility,
  };
}

/** The attackers a sweep config names. */
export function sweepAttackers(cfg: Pick<SweepConfig, 'attackers'>): AttackerSpec[] {
  return parseAttackerSuite(cfg.attackers, 'sweep config "attackers"');
}

/** A privacy step's result: each attacker's attack and the worst case over them. */
interface SweepPrivacyResult {
  attackers: Record<string, AttackerResult & { attackerIsTeacher?: boolean }>;
  worst: WorstCase;
}

const privacyFigures = (m: RetrievalMetrics & { unit?: 'probe' | 'label' }): PrivacyFigures => ({
  probes: m.numProbes,
  ...(m.unit ? { unit: m.unit } : {}),
  instanceTop1: m.instanceTop1,
  identityTop1: m.identityTopK.top1 ?? NaN,
  identityTop5: m.identityTopK.top5 ?? NaN,
  identityTop10: m.identityTopK.top10 ?? NaN,
  meanCosineToSource: m.meanCosineToSource,
});

function collectReport(
  cfg: SweepConfig,
  sets: ProtectedSet[],
  outcomes: Map<string, StepOutcome>,
  gridCols: string[],
): ReportData {
  const why = (o: StepOutcome | undefined) =>
    o ? `${o.id}: ${o.status}${o.error ? ` — ${o.error}` : ''}` : 'not run';
  const rows: ReportRow[] = sets.map((s) => {
    const pv = outcomes.get(`privacy-${s.id}`);
    const vf = outcomes.get(`verify-${s.id}`);
    const notes: string[] = [];
    let privacy: ReportRow['privacy'];
    let privacyByAttacker: ReportRow['privacyByAttacker'];
    let worstAttacker: string | undefined;
    let worstCi95: [number, number] | undefined;
    let frozenIdentityTop1: number | undefined;
    if (pv?.result) {
      const r = pv.result as unknown as SweepPrivacyResult;
      privacyByAttacker = {};
      for (const [a, m] of Object.entries(r.attackers)) {
        privacyByAttacker[a] = privacyFigures(m);
        if (m.attackerIsTeacher) notes.push(`attacker ${a} is the IRM teacher (allowed by config)`);
      }
      worstAttacker = r.worst.attacker;
      worstCi95 = r.worst.ci95;
      // results cached before the suite carry no kind: those attackers were all frozen
      const frozen = Object.values(r.attackers)
        .filter((m) => (m.kind ?? 'frozen') === 'frozen')
        .map((m) => m.identityTopK.top1 ?? NaN);
      if (frozen.length > 0) frozenIdentityTop1 = Math.max(...frozen);
      // The row's headline privacy is the worst case: the attacker with the highest identity top-1.
      privacy = privacyByAttacker[worstAttacker];
      if (Object.keys(r.attackers).length > 1)
        notes.push(
          `identity top-1 by attacker: ${Object.entries(privacyByAttacker)
            .map(([a, f]) => `${a} ${(f.identityTop1 * 100).toFixed(1)}%`)
            .join(', ')} (worst: ${worstAttacker})`,
        );
    } else notes.push(`privacy not available (${why(pv)})`);
    const utility = (vf?.result ?? {}) as unknown as Record<string, UtilityFigures>;
    if (!vf?.result) notes.push(`utility not available (${why(vf)})`);
    const failed = [pv, vf].some((o) => o?.status === 'failed');
    const missing = [pv, vf].filter((o) => !o?.result).length;
    const notAvail = [pv, vf].some((o) => /not available/.test(o?.error ?? ''));
    return {
      id: s.id,
      method: s.method,
      label: s.label,
      strength: s.strength,
      ...(s.pasteBack !== undefined ? { pasteBack: s.pasteBack } : {}),
      privacy,
      privacyByAttacker,
      worstAttacker,
      worstCi95,
      frozenIdentityTop1,
      utility,
      status:
        missing === 0 ? 'ok' : missing === 2 ? (notAvail && !failed ? 'not available' : 'failed') : 'partial',
      notes,
    };
  });
  addUtilityStatistics(rows, { seed: cfg.seed });
  const firstPrivacy = sets
    .map((s) => outcomes.get(`privacy-${s.id}`)?.result as unknown as SweepPrivacyResult | undefined)
    .map((r) => (r ? Object.values(r.attackers)[0] : undefined))
    .find(Boolean);
  const ch = firstPrivacy?.chance;
  const mae = outcomes.get('mae')?.result;
  const notes: string[] = [];
  if (mae?.pretrained) notes.push(`FaceMAE: pretrained run ${String(mae.run)} (not trained in this sweep)`);
  const grid = outcomes.get('grids');
  return {
    title: `FaceMAE privacy–utility sweep: ${cfg.name}`,
    createdAt: new Date().toISOString(),
    attacker: sweepAttackers(cfg)
      .map((a) => a.name)
      .join(', '),
    // A pretrained FaceMAE names its own teacher; none means it was trained with the MSE alone.
    teacher: mae?.pretrained
      ? String(mae.teacher ?? 'none (pretrained without IRM)')
      : String(mae?.teacher ?? cfg.teacher),
    verificationSets: cfg.verify,
    rows,
    chance: {
      instanceTop1: ch?.instanceTop1 ?? NaN,
      identityTop1: ch?.identityTopK.top1 ?? NaN,
      identityTop5: ch?.identityTopK.top5 ?? NaN,
      identityTop10: ch?.identityTopK.top10 ?? NaN,
    },
    grids: grid?.result
      ? [
          {
            file: 'grid.png',
            columns: gridCols,
            cell: cfg.size,
            pad: 4,
            caption: `One image of each of the first ${String(grid.result.rows)} deployment identities. "masked r" shows the patches FaceMAE's encoder saw at mask ratio r (from the reconstruction manifest; a fresh random mask when none was written); "FaceMAE r" is the reconstruction.`,
          },
        ]
      : [],
    config: cfg,
    notes,
    steps: [...outcomes.values()].map((o) => ({
      id: o.id,
      status: o.status,
      seconds: o.seconds,
      error: o.error,
    })),
  };
}
