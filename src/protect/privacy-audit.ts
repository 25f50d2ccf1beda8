/**
 * The privacy audit: embeds a protected dataset and its originals with an attacker recognizer,
 * then runs the retrieval attack of src/eval/retrieval.ts (every protected image a probe against
 * the gallery of all originals). Protected images are matched to their source by
 * `<identity>/<file stem>` (extensions may differ, e.g. .jpg originals and .png reconstructions).
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import type { OnWarning } from '../data/image-folder.js';
import type { FaceSource } from '../data/face-source.js';
import { openFaceSource, recordFileName, sourceRecords } from '../data/source.js';
import { retrievalMetrics, type RetrievalMetrics } from '../eval/retrieval.js';
import { FACEPLUGIN_ONNX, modelFingerprint } from '../loaders/model-fingerprint.js';
import type { Embedder, FaceRecord, OnProgress } from '../types.js';

export { FACEPLUGIN_ONNX, modelFingerprint };

export interface EmbeddedSet {
  records: FaceRecord[];
  identities: string[];
  /** [n, dim] */
  embeddings: Float32Array;
  dim: number;
}

/** An image's key across versions of a set: `<identity>/<file stem>` (extensions may differ). */
export const keyOf = (r: FaceRecord) => `${r.identity}/${path.parse(recordFileName(r)).name}`;

/**
 * The first `perIdentity` images (sorted) of each identity, as keys: a fixed, seed-free subset
 * for attacking a large set at bounded cost (every version is attacked on the same images).
 */
export function firstImagesPerIdentity(records: readonly FaceRecord[], perIdentity: number): Set<string> {
  const count = new Map<string, number>();
  const keys = new Set<string>();
  for (const r of records) {
    const c = count.get(r.identity) ?? 0;
    if (c < perIdentity) keys.add(keyOf(r));
    count.set(r.identity, c + 1);
  }
  return keys;
}

/** Embeds every image of an identity folder or a .rec, `batchSize` at a time (bounded memory). */
export async function embedFolder(
  dir: string,
  embedder: Embedder,
  opts: {
    batchSize?: number;
    onProgress?: OnProgress;
    onWarning?: OnWarning;
    /** Embed only these images (`<identity>/<file stem>` keys), e.g. a fixed subset of a large set. */
    keys?: ReadonlySet<string>;
  } = {},
): Promise<EmbeddedSet> {
  const source = await openFaceSource(dir, { onWarning: opts.onWarning });
  try {
    return await embedSource(source, dir, embedder, opts);
  } finally {
    await source.close();
  }
}

async function embedSource(
  source: FaceSource,
  dir: string,
  embedder: Embedder,
  opts: { batchSize?: number; onProgress?: OnProgress; onWarning?: OnWarning; keys?: ReadonlySet<string> },
): Promise<EmbeddedSet> {
  const { identities } = source;
  const all = sourceRecords(source).map((r, i) => ({ r, i }));
  const picked = opts.keys ? all.filter(({ r }) => opts.keys!.has(keyOf(r))) : all;
  const records = picked.map(({ r }) => r);
  if (records.length === 0) throw new FaceMaeError(`none of the selected images is in ${dir}`, 'E_EMPTY');
  const s = embedder.inputSize;
  const bs = opts.batchSize ?? 32;
  const out = new Float32Array(records.length * embedder.embeddingDim);
  for (let i = 0; i < records.length; i += bs) {
    const batch = picked.slice(i, i + bs);
    const pixels = new Uint8Array(batch.length * s * s * 3);
    const imgs = await Promise.all(
      batch.map(({ i: k }) => source.read(k, { size: s, onWarning: opts.onWarning })),
    );
    imgs.forEach((img, j) => pixels.set(img.data, j * s * s * 3));
    const emb = await embedder.embed(pixels, batch.length);
    if (emb.length !== batch.length * embedder.embeddingDim) {
      throw new FaceMaeError(
        `embedder ${embedder.name} returned ${emb.length} values for ${batch.length} images of dim ${embedder.embeddingDim}`,
        'E_SHAPE',
      );
    }
    out.set(emb, i * embedder.embeddingDim);
    opts.onProgress?.(Math.min(records.length, i + bs), records.length, path.basename(dir));
  }
  return { records, identities, embeddings: out, dim: embedder.embeddingDim };
}

export interface PrivacyAuditResult extends RetrievalMetrics {
  attacker: string;
  original: string;
  protected: string;
}

/**
 * Runs the attack. `gallery` may be passed in to reuse the originals' embeddings across several
 * protected sets (same attacker). Every protected image must have a source in the originals.
 */
export async function privacyAudit(opts: {
  original: string;
  protected: string;
  embedder: Embedder;
  gallery?: EmbeddedSet;
  seed?: number;
  search?: 'exact' | 'ann' | 'auto';
  batchSize?: number;
  onProgress?: OnProgress;
  onWarning?: OnWarning;
  /** Attack only these images (both sides), see firstImagesPerIdentity. */
  keys?: ReadonlySet<string>;
}): Promise<PrivacyAuditResult> {
  const gallery = opts.gallery ?? (await embedFolder(opts.original, opts.embedder, opts));
  const probes = await embedFolder(opts.protected, opts.embedder, opts);
  if (probes.dim !== gallery.dim) {
    throw new FaceMaeError(`probe dim ${probes.dim} differs from gallery dim ${gallery.dim}`, 'E_SHAPE');
  }
  const index = new Map<string, number>();
  gallery.records.forEach((r, i) => index.set(keyOf(r), i));
  const missing: string[] = [];
  const src = new Int32Array(probes.records.length);
  probes.records.forEach((r, i) => {
    const g = index.get(keyOf(r));
    if (g === undefined) missing.push(r.path);
    else src[i] = g;
  });
  if (missing.length > 0) {
    throw new FaceMaeError(
      `${missing.length} protected image(s) have no original of the same <identity>/<name> in ${opts.original}, e.g. ${missing.slice(0, 3).join(', ')}: pass the folder the protected set was made from`,
      'E_NO_SOURCE',
    );
  }
  const rng = createRng(opts.seed ?? 0);
  const m = retrievalMetrics(
    {
      probes: probes.embeddings,
      gallery: gallery.embeddings,
      dim: gallery.dim,
      probeSource: src,
      galleryLabels: Int32Array.from(gallery.records, (r) => r.label),
      search: opts.search,
    },
    rng.fork('chance'),
  );
  return { ...m, attacker: opts.embedder.name, original: opts.original, protected: opts.protected };
}

/** The IRM teacher an output was made with: its spec and, when known, its content fingerprint. */
export interface IrmTeacherRef {
  spec: string;
  /** modelFingerprint of the teacher, as recorded when the output was made (survives moves and copies). */
  fingerprint?: string;
}

/** The provenance reconstruct (and other protecting verbs) record in their config.json. */
export interface Provenance {
  model: string;
  modelFingerprint: string;
  irmTeacher: string | null;
  irmTeacherFingerprint: string | null;
}

/**
 * Looks for the IRM teacher a FaceMAE output was made with, in `dir` or (for `OUT/images`, where
 * reconstruct puts the images) its parent: the recorded provenance first, else a `teacher`-like
 * key in config.json / checkpoint.json, following links to the run it came from (checkpoint,
 * run, model, source…).
 */
export function findIrmTeacherRef(dir: string, depth = 0): IrmTeacherRef | undefined {
  if (depth > 3) return undefined;
  const hasRecord = (d: string) =>
    fs.existsSync(path.join(d, 'config.json')) || fs.existsSync(path.join(d, 'checkpoint.json'));
  if (depth === 0 && !hasRecord(dir) && hasRecord(path.dirname(path.resolve(dir))))
    return findIrmTeacherRef(path.dirname(path.resolve(dir)), depth);
  const found: { teacher?: string; fingerprint?: string; runs: string[] } = { runs: [] };
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string' && /teacher/i.test(k) && /fingerprint/i.test(k)) found.fingerprint ??= x;
      else if (typeof x === 'string' && /teacher/i.test(k)) found.teacher ??= x;
      else if (typeof x === 'string' && /^(checkpoint|ckpt|run|model|maeRun|mae|source)$/i.test(k))
        found.runs.push(x);
      else walk(x);
    }
  };
  for (const name of ['config.json', 'checkpoint.json']) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) continue;
    try {
      walk(JSON.parse(fs.readFileSync(file, 'utf8')));
    } catch {
      /* not JSON: nothing to learn from it */
    }
  }
  if (found.teacher || found.fingerprint) {
    const spec = found.teacher ?? (found.fingerprint as string);
    return { spec, fingerprint: found.fingerprint ?? modelFingerprint(spec) };
  }
  for (const r of found.runs) {
    if (!fs.existsSync(r) || path.resolve(r) === path.resolve(dir)) continue;
    const d = fs.statSync(r).isFile() ? path.dirname(r) : r;
    const t = findIrmTeacherRef(d, depth + 1);
    if (t) return t;
  }
  return undefined;
}

/** The spec of the IRM teacher found by findIrmTeacherRef. */
export function findIrmTeacher(dir: string): string | undefined {
  return findIrmTeacherRef(dir)?.spec;
}

/**
 * The attacker must not be the IRM teacher (FaceMAE optimises its reconstructions against the
 * teacher's features, so attacking with it measures the training objective, not privacy).
 */
export function checkAttackerIndependence(
  attacker: string,
  teacherRef: string | IrmTeacherRef | undefined,
  opts: { allowSame?: boolean; onWarning?: OnWarning } = {},
): { same: boolean; note: string } {
  if (!teacherRef)
    return {
      same: false,
      note: "IRM teacher unknown (no irm.teacher given, none found in the protected set's config)",
    };
  const ref = typeof teacherRef === 'string' ? { spec: teacherRef } : teacherRef;
  const teacher = ref.spec;
  const fp = modelFingerprint(attacker);
  // by content: the teacher's files now, and the hash recorded when the output was made
  const same =
    attacker === teacher || fp === modelFingerprint(teacher) || (!!ref.fingerprint && fp === ref.fingerprint);
  if (!same) return { same, note: `attacker ${attacker} is independent of the IRM teacher ${teacher}` };
  const msg = `the attacker (${attacker}) is the IRM teacher (${teacher}): FaceMAE was optimised against this network, so the attack is not an independent privacy measure`;
  if (!opts.allowSame) {
    throw new FaceMaeError(
      `${msg}; choose another attacker, or set allowSameAttacker to run it anyway`,
      'E_SAME_ATTACKER',
      { key: 'allowSameAttacker' },
    );
  }
  opts.onWarning?.(`!!! ${msg} (allowed by allowSameAttacker)`);
  return { same, note: msg };
}

/**
 * Attacker specs from flags or config: a list whose entries may each be comma-separated
 * ('faceplugin,faceres'); blanks dropped, duplicates refused (they would be counted twice).
 */
export function parseAttackers(specs: string | readonly string[], where = '--attacker'): string[] {
  const list = (typeof specs === 'string' ? [specs] : specs)
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new FaceMaeError(`${where}: name at least one attacker`, 'E_CONFIG');
  const seen = new Set<string>();
  for (const a of list) {
    if (seen.has(a)) throw new FaceMaeError(`${where}: attacker "${a}" is named twice`, 'E_CONFIG');
    seen.add(a);
  }
  return list;
}

/** The strongest attack of several: the attacker with the highest identity top-1. */
export interface WorstCase {
  attacker: string;
  identityTop1: number;
  instanceTop1: number;
}

/** Worst case over attackers (maximum identity top-1; ties go to the first listed). */
export function worstCase(byAttacker: Readonly<Record<string, RetrievalMetrics>>): WorstCase {
  let worst: WorstCase | undefined;
  for (const [attacker, m] of Object.entries(byAttacker)) {
    const top1 = m.identityTopK.top1 ?? NaN;
    if (!worst || top1 > worst.identityTop1)
      worst = { attacker, identityTop1: top1, instanceTop1: m.instanceTop1 };
  }
  if (!worst) throw new FaceMaeError('worst case of no attackers', 'E_CONFIG');
  return worst;
}
