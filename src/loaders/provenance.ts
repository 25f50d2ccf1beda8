/**
 * Provenance: which reconstructor, and which IRM teacher behind it, a protected output was made
 * with, by content (loaders/model-fingerprint.ts). One record, written by reconstruct into its
 * config.json and carried by a checkpoint's metadata (a compact export keeps its run's teacher),
 * and one lookup reading it back, so that `privacy` never attacks with the teacher FaceMAE was
 * optimised against.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hasCheckpoint, readCheckpointInfo } from '../data/checkpoint.js';
import { releaseRunDir } from '../data/release.js';
import { modelFingerprint } from './model-fingerprint.js';

/** Model and IRM-teacher content fingerprints, as a protected output records them. */
export interface Provenance {
  model: string;
  modelFingerprint: string;
  /** The IRM teacher the MAE was trained against (null: trained without IRM, or unknown). */
  irmTeacher: string | null;
  irmTeacherFingerprint: string | null;
}

/** The IRM teacher an output was made with: its spec and, when known, its content fingerprint. */
export interface IrmTeacherRef {
  spec: string;
  /** modelFingerprint of the teacher, as recorded when the output was made (survives moves and copies). */
  fingerprint?: string;
}

const readJsonOrUndefined = (file: string): unknown => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined; // absent, or not JSON: nothing to learn from it
  }
};

/**
 * The IRM teacher a MAE checkpoint folder records: its metadata, its training config, or the
 * train-mae config saved beside a compact copy (assets/models/facemae-tiny). null: trained without
 * IRM; undefined: the folder records nothing (no checkpoint, or a checkpoint that does not say).
 */
function recordedTeacher(dir: string): { teacher: string | null; fingerprint?: string } | undefined {
  if (!hasCheckpoint(dir)) return undefined;
  let info: ReturnType<typeof readCheckpointInfo>;
  try {
    info = readCheckpointInfo(dir);
  } catch {
    return undefined;
  }
  const meta = (info.meta ?? {}) as { irm?: boolean; irmTeacher?: string; irmTeacherFingerprint?: string };
  const train = (info.config ?? {}) as { irm?: { teacher?: string | null } };
  const saved = (
    readJsonOrUndefined(path.join(dir, 'config.json')) as
      { config?: { irm?: { teacher?: string | null; weight?: number } } } | undefined
  )?.config?.irm;
  if (meta.irm === false) return { teacher: null };
  const teacher =
    meta.irmTeacher ?? train.irm?.teacher ?? (saved && saved.weight !== 0 ? saved.teacher : undefined);
  if (teacher === undefined) return undefined;
  return { teacher, ...(meta.irmTeacherFingerprint ? { fingerprint: meta.irmTeacherFingerprint } : {}) };
}

/** The provenance of a checkpoint folder: its weights' hash and the IRM teacher it records. */
export function maeProvenance(dir: string): Provenance {
  const r = recordedTeacher(dir);
  const teacher = r?.teacher ?? null;
  return {
    model: path.resolve(dir),
    modelFingerprint: modelFingerprint(dir),
    irmTeacher: teacher,
    irmTeacherFingerprint: teacher ? (r?.fingerprint ?? modelFingerprint(teacher)) : null,
  };
}

const refOf = (teacher: string, fingerprint?: string | null): IrmTeacherRef => ({
  spec: teacher,
  fingerprint: fingerprint ?? modelFingerprint(teacher),
});

/**
 * The IRM teacher a FaceMAE output (its run folder or images/) or a MAE run was made with: the
 * recorded provenance, else what a checkpoint records, else a `teacher`-like key in config.json /
 * checkpoint.json of outputs made otherwise, following links to the run they came from
 * (checkpoint, run, model, source…).
 */
export function findIrmTeacherRef(dir: string, depth = 0): IrmTeacherRef | undefined {
  if (depth > 3) return undefined;
  const hasRecord = (d: string) =>
    fs.existsSync(path.join(d, 'config.json')) || fs.existsSync(path.join(d, 'checkpoint.json'));
  if (depth === 0) {
    const run = releaseRunDir(dir);
    if (run !== dir) return findIrmTeacherRef(run, depth);
    // any other images/ folder whose parent holds the record
    const parent = path.dirname(path.resolve(dir));
    if (!hasRecord(dir) && hasRecord(parent)) return findIrmTeacherRef(parent, depth);
  }
  const config = readJsonOrUndefined(path.join(dir, 'config.json')) as
    { config?: { provenance?: Partial<Provenance> } } | undefined;
  const recorded = config?.config?.provenance;
  if (recorded && 'irmTeacher' in recorded)
    return recorded.irmTeacher ? refOf(recorded.irmTeacher, recorded.irmTeacherFingerprint) : undefined;
  const ck = recordedTeacher(dir);
  if (ck) return ck.teacher ? refOf(ck.teacher, ck.fingerprint) : undefined;
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
  for (const name of ['config.json', 'checkpoint.json']) walk(readJsonOrUndefined(path.join(dir, name)));
  if (found.teacher || found.fingerprint)
    return refOf(found.teacher ?? (found.fingerprint as string), found.fingerprint);
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
