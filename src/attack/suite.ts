/**
 * The attacker suite's names, as flags and configs give them (no heavy imports: config code reads
 * them): `MODEL` is the frozen attacker, `MODEL+KIND` one adaptive attacker, `suite:MODEL` every
 * kind on MODEL and `suite` the same on the default model. What each kind does: attack.ts.
 */
import { FaceMaeError } from '../core/errors.js';

export const ATTACK_KINDS = ['frozen', 'reversal', 'adaptation', 'pooling', 'parrot'] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];
/** The kinds that need the public set A and protect(A): all but frozen. */
export const ADAPTIVE_KINDS: readonly AttackKind[] = ['reversal', 'adaptation', 'pooling', 'parrot'];
/**
 * The kinds fitted on A inside the attack (restoration, map, pooling); the parrot is fitted by
 * its caller. They need the protection, the public set, and for a masked release the inpainter.
 */
export const fitsOnPublic = (kind: AttackKind): boolean =>
  kind === 'reversal' || kind === 'adaptation' || kind === 'pooling';

/**
 * What `suite:MODEL` expands to: the attackers that cost embeddings only. The parrot (a
 * fine-tuning per release) is named on its own, `MODEL+parrot`.
 */
export const CHEAP_KINDS: readonly AttackKind[] = ['frozen', 'reversal', 'adaptation', 'pooling'];

/** One attacker of the suite: a recognizer and what the attacker does with it. */
export interface AttackerSpec {
  model: string;
  kind: AttackKind;
  /** `model` for frozen, else `model+kind`. */
  name: string;
}

/** The recognizer `suite` expands to when none is named: independent of the bundled IRM teacher. */
export const DEFAULT_SUITE_MODEL = 'mobileface';

const specOf = (model: string, kind: AttackKind): AttackerSpec => ({
  model,
  kind,
  name: kind === 'frozen' ? model : `${model}+${kind}`,
});

/**
 * Attacker specs from flags or config: entries may be comma-separated. `MODEL` is the frozen
 * attacker, `MODEL+KIND` one adaptive attacker, `suite:MODEL` the cheap kinds on MODEL and `suite`
 * the same on mobileface. Blanks dropped; duplicates refused (they would be counted twice).
 */
export function parseAttackerSuite(specs: string | readonly string[], where = '--attacker'): AttackerSpec[] {
  const list = (typeof specs === 'string' ? [specs] : specs)
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new FaceMaeError(`${where}: name at least one attacker`, 'E_CONFIG');
  const out: AttackerSpec[] = [];
  for (const entry of list) {
    if (entry === 'suite' || entry.startsWith('suite:')) {
      const model = entry === 'suite' ? DEFAULT_SUITE_MODEL : entry.slice('suite:'.length);
      if (!model) throw new FaceMaeError(`${where}: "${entry}" names no recognizer`, 'E_CONFIG');
      out.push(...CHEAP_KINDS.map((k) => specOf(model, k)));
      continue;
    }
    const plus = entry.lastIndexOf('+');
    const kind = plus > 0 ? entry.slice(plus + 1) : 'frozen';
    const model = plus > 0 ? entry.slice(0, plus) : entry;
    if (!(ATTACK_KINDS as readonly string[]).includes(kind))
      throw new FaceMaeError(
        `${where}: unknown attack "${kind}" in "${entry}": use MODEL, MODEL+${ADAPTIVE_KINDS.join(' | MODEL+')}, suite or suite:MODEL`,
        'E_CONFIG',
      );
    out.push(specOf(model, kind as AttackKind));
  }
  const seen = new Set<string>();
  for (const a of out) {
    if (seen.has(a.name)) throw new FaceMaeError(`${where}: attacker "${a.name}" is named twice`, 'E_CONFIG');
    seen.add(a.name);
  }
  return out;
}

/**
 * Applies `fn` to the model part of each attacker entry (e.g. a config resolving relative paths),
 * keeping `suite:` and `+KIND`.
 */
export function resolveAttackerModels(entries: readonly string[], fn: (model: string) => string): string[] {
  return entries.flatMap((e) =>
    e.split(',').map((x) => {
      const t = x.trim();
      if (t === 'suite' || t === '') return t;
      if (t.startsWith('suite:')) return `suite:${fn(t.slice('suite:'.length))}`;
      const plus = t.lastIndexOf('+');
      const kind = plus > 0 ? t.slice(plus + 1) : '';
      return (ATTACK_KINDS as readonly string[]).includes(kind) ? `${fn(t.slice(0, plus))}+${kind}` : fn(t);
    }),
  );
}
