/**
 * What the attack (src/attack) needs to know of a release besides its images: how a protected
 * image is matched to its source (`<identity>/<file stem>`: extensions may differ, e.g. .jpg
 * originals and .png reconstructions), the fixed subset attacked on a large set, and the rule
 * that no attacker is the IRM teacher a FaceMAE release was made with (its provenance:
 * loaders/provenance.ts).
 */
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import type { OnWarning } from '../data/image-folder.js';
import { recordFileName } from '../data/source.js';
import { FACEPLUGIN_ONNX, modelFingerprint } from '../loaders/model-fingerprint.js';
import type { IrmTeacherRef } from '../loaders/provenance.js';
import type { FaceRecord } from '../types.js';

export { FACEPLUGIN_ONNX, modelFingerprint };
export { findIrmTeacher, findIrmTeacherRef, type IrmTeacherRef } from '../loaders/provenance.js';

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
