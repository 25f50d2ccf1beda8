/**
 * What the attack (src/attack) needs to know of a release besides its images: how a protected
 * image is matched to its source (`<identity>/<file stem>`: extensions may differ, e.g. .jpg
 * originals and .png reconstructions), the fixed subset attacked on a large set, and the
 * provenance that says which IRM teacher a FaceMAE release was made with, so that no attacker is
 * that teacher.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import type { OnWarning } from '../data/image-folder.js';
import { recordFileName } from '../data/source.js';
import { FACEPLUGIN_ONNX, modelFingerprint } from '../loaders/model-fingerprint.js';
import type { FaceRecord } from '../types.js';

export { FACEPLUGIN_ONNX, modelFingerprint };

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
