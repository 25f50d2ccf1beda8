/**
 * The one privacy attack, used by `facemae privacy` and the sweep: a suite of attackers that know
 * the protection (method, strength and the public models; Kerckhoffs), each searching every
 * released probe among the originals (src/eval/retrieval.ts). Privacy of a release is the worst
 * case over the suite.
 *
 * The attackers, for a recognizer M (names as reported):
 *  - `M` (frozen): M's embedding of the probe as released;
 *  - `M+reversal`: the probe restored first (reversal.ts), the restoration chosen on A;
 *  - `M+adaptation`: the restored probe's embedding mapped by a ridge regression fitted on A from
 *    embeddings of protect(A) to embeddings of A (ridge.ts), the penalty chosen on A;
 *  - `M+pooling`: a released set carries identity labels, so the adapted embeddings of all probes
 *    of one label are averaged and the label searched as one: identity-level hit rate (label → person);
 *  - `M+parrot`: M fine-tuned on A ∪ protect(A) (parrot.ts; trained by the caller, given in
 *    `parrots`), searching with the released probes as they are.
 * Every choice is made on A (probes protect(A), gallery A, as the audit of B is set up); B's
 * figures are computed once, after.
 */
import { FaceMaeError } from '../core/errors.js';
import type { FaceSource } from '../data/face-source.js';
import type { OnWarning } from '../data/image-folder.js';
import { openFaceSource, sourceRecords } from '../data/source.js';
import { l2NormalizeRows, retrievalMetrics, type RetrievalMetrics } from '../eval/retrieval.js';
import { createRng } from '../core/rng.js';
import { keyOf } from '../protect/privacy-audit.js';
import type { Embedder, FaceRecord, OnProgress } from '../types.js';
import { embedForAttack, type EmbeddingCache } from './embed.js';
import type { Inpainter } from './inpaint.js';
import type { Protection } from './protection.js';
import { reversalCandidates, reversalName, type Reversal } from './reversal.js';
import { fitsOnPublic, type AttackKind, type AttackerSpec } from './suite.js';
import { applyResidualMap, fitResidualRidge, scaledAlpha, type ResidualMap } from './ridge.js';

/** One attacker's figures on B. */
export interface AttackerResult extends RetrievalMetrics {
  attacker: string;
  model: string;
  kind: AttackKind;
  /** 'probe': every released image searched alone; 'label': one pooled search per released label. */
  unit: 'probe' | 'label';
  /** What was chosen on A: the restoration, the ridge penalty, and A's identity top-1 with them. */
  fitted?: { reversal: string; alpha?: number; publicTop1: number };
}

/** The strongest attack of the suite: the highest identity top-1, with its 95% (Wilson) interval. */
export interface WorstCase {
  attacker: string;
  identityTop1: number;
  instanceTop1: number;
  ci95: [number, number];
  n: number;
}

export interface AttackResult {
  attackers: Record<string, AttackerResult>;
  worst: WorstCase;
}

/** The public set A as the attacker holds it: originals and its own protect(A), same layout. */
export interface PublicPair {
  original: string;
  protected: string;
  /** Images of A used (`<identity>/<file stem>` keys), both sides; default all of `protected`. */
  keys?: ReadonlySet<string>;
}

export interface AttackOptions {
  /** B's originals (the gallery). */
  original: string;
  /** The release (the probes), same `<identity>/<name>` layout. */
  protected: string;
  /** What the attacker knows of the release; needed by the attackers fitted on A. */
  protection?: Protection;
  attackers: readonly AttackerSpec[];
  /** Makes (or returns a shared) embedder for a model spec. */
  embedder: (model: string) => Promise<Embedder>;
  /** A content fingerprint of a model spec (the cache key's attacker part). */
  fingerprint: (model: string) => string;
  /** Needed by the adaptive attackers. */
  public?: PublicPair;
  /** FaceMAE's public reconstructor, for the inpainting restoration of a masked release. */
  inpainter?: Inpainter;
  /** The fine-tuned parrot (a train-fr run) of each model with a `+parrot` attacker. */
  parrots?: Readonly<Record<string, string>>;
  /** Attack only these images of B (both sides). */
  keys?: ReadonlySet<string>;
  cache?: EmbeddingCache;
  seed?: number;
  search?: 'exact' | 'ann' | 'auto';
  batchSize?: number;
  onProgress?: OnProgress;
  onWarning?: OnWarning;
  /** One line per choice made on A (which restoration, which penalty). */
  onLog?: (message: string) => void;
}

/** A set's images in a fixed order, its identity labels, and the source of each. */
interface OpenSet {
  source: FaceSource;
  records: FaceRecord[];
  /** indices into the source, in `records` order */
  indices: number[];
}

async function openSet(
  dir: string,
  keys: ReadonlySet<string> | undefined,
  onWarning?: OnWarning,
): Promise<OpenSet> {
  const source = await openFaceSource(dir, { onWarning });
  const all = sourceRecords(source);
  const indices: number[] = [];
  all.forEach((r, i) => {
    if (!keys || keys.has(keyOf(r))) indices.push(i);
  });
  if (indices.length === 0) {
    await source.close();
    throw new FaceMaeError(`none of the selected images is in ${dir}`, 'E_EMPTY');
  }
  return { source, records: indices.map((i) => all[i]!), indices };
}

/** For each probe, its original's index in the gallery (by `<identity>/<file stem>`). */
function sourcesOf(probes: OpenSet, gallery: OpenSet, galleryDir: string): Int32Array {
  const index = new Map<string, number>();
  gallery.records.forEach((r, i) => index.set(keyOf(r), i));
  const missing: string[] = [];
  const src = new Int32Array(probes.records.length);
  probes.records.forEach((r, i) => {
    const g = index.get(keyOf(r));
    if (g === undefined) missing.push(r.path);
    else src[i] = g;
  });
  if (missing.length > 0)
    throw new FaceMaeError(
      `${missing.length} protected image(s) have no original of the same <identity>/<name> in ${galleryDir}, e.g. ${missing.slice(0, 3).join(', ')}: pass the folder the protected set was made from`,
      'E_NO_SOURCE',
    );
  return src;
}

/** Unit rows of x [*, d], on a copy. */
const normalized = (x: Float32Array, d: number): Float32Array =>
  l2NormalizeRows(new Float32Array(x), x.length / d, d);

/** Rows `rows` of x [*, d]. */
const pickRows = (x: Float32Array, rows: readonly number[], d: number): Float32Array => {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(x.subarray(r * d, (r + 1) * d), i * d));
  return out;
};

/** Gallery labels re-indexed densely (retrievalMetrics wants 0..k-1). */
const denseLabels = (records: readonly FaceRecord[]): Int32Array => {
  const ids = new Map<string, number>();
  return Int32Array.from(records, (r) => {
    if (!ids.has(r.identity)) ids.set(r.identity, ids.size);
    return ids.get(r.identity)!;
  });
};

/**
 * Averages unit-normalised probe embeddings per released label; the pooled probe's "source" is
 * the first probe's (so identity top-k is label → person). Returns pooled [labels, d].
 */
export function poolByLabel(
  probes: Float32Array,
  d: number,
  labels: readonly string[],
  probeSource: Int32Array,
): { probes: Float32Array; probeSource: Int32Array } {
  const unit = normalized(probes, d);
  const order = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const rows = order.get(l);
    if (rows) rows.push(i);
    else order.set(l, [i]);
  });
  const out = new Float32Array(order.size * d);
  const src = new Int32Array(order.size);
  [...order.values()].forEach((rows, k) => {
    for (const r of rows) for (let j = 0; j < d; j++) out[k * d + j]! += unit[r * d + j] as number;
    src[k] = probeSource[rows[0]!] as number;
  });
  return { probes: out, probeSource: src };
}

/** Wilson score interval for a proportion (95%). */
export function wilson95(p: number, n: number): [number, number] {
  if (n <= 0) return [0, 1];
  const z = 1.959964;
  const den = 1 + (z * z) / n;
  const mid = (p + (z * z) / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / den;
  return [Math.max(0, mid - half), Math.min(1, mid + half)];
}

/** Worst case over attackers (maximum identity top-1; ties go to the first listed). */
export function worstOf(byAttacker: Readonly<Record<string, RetrievalMetrics>>): WorstCase {
  let worst: WorstCase | undefined;
  for (const [attacker, m] of Object.entries(byAttacker)) {
    const top1 = m.identityTopK.top1 ?? NaN;
    if (!worst || top1 > worst.identityTop1)
      worst = {
        attacker,
        identityTop1: top1,
        instanceTop1: m.instanceTop1,
        ci95: wilson95(top1, m.numProbes),
        n: m.numProbes,
      };
  }
  if (!worst) throw new FaceMaeError('worst case of no attackers', 'E_CONFIG');
  return worst;
}

/** Candidate ridge penalties (scaled, see scaledAlpha); the largest is close to the frozen map. */
const ALPHA_GRID = [1000, 10, 1, 0.1, 0.01];

/** Runs the suite; see the module comment. */
export async function attack(opts: AttackOptions): Promise<AttackResult> {
  // the parrot was fitted by the caller; these three fit on A here
  const fittedHere = opts.attackers.filter((a) => fitsOnPublic(a.kind));
  if (fittedHere.length > 0 && !opts.public)
    throw new FaceMaeError(
      `attackers ${fittedHere.map((a) => a.name).join(', ')} are fitted on a public set: pass it (--public DIR)`,
      'E_CONFIG',
    );
  const protection = opts.protection;
  if (fittedHere.length > 0 && !protection)
    throw new FaceMaeError(
      `attackers ${fittedHere.map((a) => a.name).join(', ')} need to know the protection: pass it (--protection METHOD:STRENGTH)`,
      'E_CONFIG',
    );
  const log = opts.onLog ?? (() => {});
  const rng = createRng(opts.seed ?? 0);
  const opened: OpenSet[] = [];
  const open = async (dir: string, keys?: ReadonlySet<string>) => {
    const s = await openSet(dir, keys, opts.onWarning);
    opened.push(s);
    return s;
  };
  try {
    const gB = await open(opts.original, opts.keys);
    const pB = await open(opts.protected, opts.keys);
    const srcB = sourcesOf(pB, gB, opts.original);
    const labelsB = denseLabels(gB.records);
    let gA: OpenSet | undefined;
    let pA: OpenSet | undefined;
    let srcA: Int32Array | undefined;
    if (fittedHere.length > 0 && opts.public) {
      pA = await open(opts.public.protected, opts.public.keys);
      gA = await open(opts.public.original, opts.public.keys);
      srcA = sourcesOf(pA, gA, opts.public.original);
    }
    const results: Record<string, AttackerResult> = {};
    const models = [...new Set(opts.attackers.map((a) => a.model))];
    for (const model of models) {
      const kinds = new Set(opts.attackers.filter((a) => a.model === model).map((a) => a.kind));
      const emb = await opts.embedder(model);
      const d = emb.embeddingDim;
      /** Embeds a set with recognizer `e` (cached under `spec`'s fingerprint) after a restoration. */
      const embedWith =
        (e: Embedder, spec: string, name: string) => (set: OpenSet, reversal: Reversal, what: string) =>
          embedForAttack(set.source, set.indices, e, {
            fingerprint: opts.fingerprint(spec),
            reversal,
            cache: opts.cache,
            batchSize: opts.batchSize,
            onWarning: opts.onWarning,
            onProgress: opts.onProgress,
            label: `${name}: ${what}`,
            inpainter: opts.inpainter,
          });
      const embed = embedWith(emb, model, model);
      const metricsB = (probes: Float32Array, gallery: Float32Array, src = srcB, dim = d) =>
        retrievalMetrics(
          { probes, gallery, dim, probeSource: src, galleryLabels: labelsB, search: opts.search },
          rng.fork(`chance:${model}`),
        );
      const record = (
        kind: AttackKind,
        m: RetrievalMetrics,
        extra: Pick<AttackerResult, 'unit'> & Partial<Pick<AttackerResult, 'fitted'>>,
      ) => {
        const name = kind === 'frozen' ? model : `${model}+${kind}`;
        results[name] = { ...m, attacker: name, model, kind, ...extra };
      };
      const none: Reversal = { kind: 'none' };
      const galleryB = await embed(gB, none, 'originals');
      if (kinds.has('frozen'))
        record('frozen', metricsB(await embed(pB, none, 'release'), galleryB), { unit: 'probe' });
      if (kinds.has('parrot')) {
        const run = opts.parrots?.[model];
        if (!run)
          throw new FaceMaeError(
            `attacker ${model}+parrot: no fine-tuned parrot was given for ${model}`,
            'E_CONFIG',
          );
        const pe = await opts.embedder(run);
        const embedP = embedWith(pe, run, `${model}+parrot`);
        const probes = await embedP(pB, none, 'release');
        const m = metricsB(probes, await embedP(gB, none, 'originals'), srcB, pe.embeddingDim);
        record('parrot', m, { unit: 'probe' });
      }
      if (!(kinds.has('reversal') || kinds.has('adaptation') || kinds.has('pooling'))) continue;
      // Choices on A: the restoration with the best identity top-1 of protect(A) against A.
      const A = { g: gA!, p: pA!, src: srcA!, labels: denseLabels(gA!.records) };
      const galleryA = await embed(A.g, none, 'public originals');
      const metricsA = (probes: Float32Array, gallery = galleryA, src = A.src, labels = A.labels) =>
        retrievalMetrics({
          probes,
          gallery,
          dim: d,
          probeSource: src,
          galleryLabels: labels,
          search: opts.search,
        });
      // ties (common on an easy A) go to the better instance top-1, then to the earlier candidate
      let best: { r: Reversal; top1: number; inst: number; probes: Float32Array } | undefined;
      for (const r of reversalCandidates(protection!.method, protection!.strength, {
        inpaint: Boolean(opts.inpainter),
      })) {
        const probes = await embed(A.p, r, `public release, ${reversalName(r)}`);
        const mA = metricsA(probes);
        const top1 = mA.identityTopK.top1 ?? 0;
        log(`${model}: restoration ${reversalName(r)} on A: identity top-1 ${(top1 * 100).toFixed(1)}%`);
        if (!best || top1 > best.top1 || (top1 === best.top1 && mA.instanceTop1 > best.inst))
          best = { r, top1, inst: mA.instanceTop1, probes };
      }
      const chosen = best!;
      log(`${model}: chose restoration ${reversalName(chosen.r)} on A`);
      const restoredB = await embed(pB, chosen.r, `release, ${reversalName(chosen.r)}`);
      if (kinds.has('reversal'))
        record('reversal', metricsB(restoredB, galleryB), {
          unit: 'probe',
          fitted: { reversal: reversalName(chosen.r), publicTop1: chosen.top1 },
        });
      if (!(kinds.has('adaptation') || kinds.has('pooling'))) continue;
      const fit = chooseRidge(normalized(chosen.probes, d), galleryA, A, d, metricsA);
      log(
        `${model}: chose ridge penalty ${fit.alpha.toPrecision(3)} on A (identity top-1 ${(fit.top1 * 100).toFixed(1)}%)`,
      );
      const adaptedB = applyResidualMap(fit.map, normalized(restoredB, d), pB.records.length);
      const fitted = { reversal: reversalName(chosen.r), alpha: fit.alpha, publicTop1: fit.top1 };
      if (kinds.has('adaptation'))
        record('adaptation', metricsB(adaptedB, galleryB), { unit: 'probe', fitted });
      if (kinds.has('pooling')) {
        const labels = pB.records.map((r) => r.identity);
        const pooled = poolByLabel(adaptedB, d, labels, srcB);
        record('pooling', metricsB(pooled.probes, galleryB, pooled.probeSource), { unit: 'label', fitted });
      }
    }
    // in the order the attackers were named
    const ordered: Record<string, AttackerResult> = {};
    for (const a of opts.attackers) ordered[a.name] = results[a.name]!;
    return { attackers: ordered, worst: worstOf(ordered) };
  } finally {
    for (const s of opened) await s.source.close();
  }
}

/**
 * The ridge penalty by 2-fold cross-validation over A's identities (fit on one half, identity
 * top-1 on the other half's probes against that half's gallery), then the map refitted on all of A.
 * x: unit probe embeddings of protect(A) [n, d]; galleryA: embeddings of A's originals [m, d].
 */
function chooseRidge(
  x: Float32Array,
  galleryA: Float32Array,
  A: { g: OpenSet; p: OpenSet; src: Int32Array; labels: Int32Array },
  d: number,
  metricsA: (
    probes: Float32Array,
    gallery: Float32Array,
    src: Int32Array,
    labels: Int32Array,
  ) => RetrievalMetrics,
): { map: ResidualMap; alpha: number; top1: number } {
  const n = A.p.records.length;
  // the regression targets: each probe's original
  const y = normalized(pickRows(galleryA, [...A.src], d), d);
  const ids = [...new Set(A.p.records.map((r) => r.identity))].sort();
  const fold = new Map(ids.map((id, i) => [id, i % 2]));
  const probeFold = A.p.records.map((r) => fold.get(r.identity)!);
  // gallery rows per fold, with their labels and each probe's source re-indexed into them
  const gFold = A.g.records.map((r) => fold.get(r.identity)!);
  // each fold's training pairs, test probes and gallery (they do not depend on the penalty)
  const folds = [0, 1].flatMap((f) => {
    const train = probeFold.flatMap((pf, i) => (pf !== f ? [i] : []));
    const test = probeFold.flatMap((pf, i) => (pf === f ? [i] : []));
    const gRows = gFold.flatMap((gf, i) => (gf === f ? [i] : []));
    if (train.length === 0 || test.length === 0 || gRows.length === 0) return [];
    const gIndex = new Map(gRows.map((g, k) => [g, k]));
    return [
      {
        n: train.length,
        x: pickRows(x, train, d),
        y: pickRows(y, train, d),
        test: pickRows(x, test, d),
        nTest: test.length,
        gallery: pickRows(galleryA, gRows, d),
        src: Int32Array.from(test, (i) => gIndex.get(A.src[i] as number)!),
        labels: denseLabels(gRows.map((g) => A.g.records[g]!)),
      },
    ];
  });
  let bestScore = -1;
  let bestC = ALPHA_GRID[0]!;
  for (const c of ALPHA_GRID) {
    let hits = 0;
    for (const f of folds) {
      const map = fitResidualRidge(f.x, f.y, f.n, d, scaledAlpha(c, f.n, d));
      const m = metricsA(applyResidualMap(map, f.test, f.nTest), f.gallery, f.src, f.labels);
      hits += (m.identityTopK.top1 ?? 0) * f.nTest;
    }
    const score = hits / n;
    if (score > bestScore) {
      bestScore = score;
      bestC = c;
    }
  }
  const alpha = scaledAlpha(bestC, n, d);
  return { map: fitResidualRidge(x, y, n, d, alpha), alpha, top1: bestScore };
}
