/**
 * The sweep's results in the evidence schema (docs/results/<name>.json): one row per protected
 * version with each attacker's figures, the worst case, and LFW accuracy with its 95% interval.
 * A pure function of the report data, written beside the report as evidence.json.
 */
import { pairedBootstrapDifference, unpairedDifference } from '../eval/bootstrap.js';
import { FaceMaeError } from '../core/errors.js';
import { correctnessBits, isReference } from './statistics.js';
import type { ReportData, ReportRow } from './types.js';

/**
 * This row's accuracy minus another's: paired over the pairs when both rows' per-pair scores are
 * at hand, else from the two intervals taken as independent (`paired: false`, wider).
 */
export interface Difference {
  diff: number;
  ci95: [number, number];
  p: number;
  significant: boolean;
  /** false: the unpaired interval (absent: paired). */
  paired?: boolean;
}

export interface EvidenceRow {
  method: string;
  strength: number | null;
  /** FaceMAE rows released with a paste-back weight other than 1 (absent: 1). */
  pasteBack?: number;
  privacy: Record<
    string,
    {
      instanceTop1: number;
      identityTop1: number;
      identityTop5: number;
      probes?: number;
      unit?: 'probe' | 'label';
    }
  >;
  worstIdentityTop1: number | null;
  /** The attacker of the worst case and its 95% interval (absent in results made before the suite). */
  worstAttacker?: string | null;
  worstCi95?: [number, number] | null;
  /** The strongest frozen attacker (what a non-adaptive audit reports). */
  frozenIdentityTop1?: number | null;
  lfw: {
    accuracy: number;
    ci95: [number, number] | null;
    vs: Record<string, Difference>;
    /**
     * Per-pair correctness as a '0'/'1' string (pairs in set order), so rows of different runs
     * can still be compared pair by pair (absent in results made before it was kept).
     */
    pairCorrect?: string;
  } | null;
  /** Recognizer training steps of this row (null when utility was not run). */
  steps: number | null;
  /** Wall time of this row's steps (protection, attack, recognizer, verification). */
  seconds: number;
}

/**
 * The question the evidence answers, per FaceMAE row: among the baselines at least as private
 * (worst-case identity top-1 no higher), which trains the best recognizer, and does FaceMAE beat
 * it? `diff` is FaceMAE's accuracy minus the baseline's, with the paired 95% interval; the
 * paper's claim is `errorRatio` (FaceMAE's error / the baseline's) ≤ 0.5.
 */
export interface EvidenceVerdict {
  facemae: string;
  worstIdentityTop1: number;
  accuracy: number;
  /** null when no baseline with utility is at least as private. */
  bestBaseline: {
    id: string;
    worstIdentityTop1: number;
    accuracy: number;
    diff: number;
    ci95: [number, number] | null;
    significant: boolean | null;
    /** Whether the interval is paired over the pairs (false: from two independent intervals). */
    paired?: boolean;
    errorRatio: number;
  } | null;
  /**
   * 'beats' | 'loses' (significant either way) | 'n.s.' | 'not tested' (no paired difference:
   * the rows lack per-pair scores, so only point estimates exist) | 'no baseline as private'.
   */
  outcome: 'beats' | 'loses' | 'n.s.' | 'not tested' | 'no baseline as private';
  /** FaceMAE's error at most half the baseline's (the paper's "≥ 50% lower error"). */
  halvesError: boolean;
  /**
   * The baselines this row beats on both axes: re-identified at least as often (worst case no
   * lower) and a significantly worse recognizer (the 95% interval of the difference below 0).
   */
  dominates: string[];
}

export interface EvidenceResults {
  protocol: Record<string, unknown>;
  rows: EvidenceRow[];
  verdicts: EvidenceVerdict[];
}

/** The verification set the evidence reads: the first LFW set, else the first set. */
export function evidenceSet(data: ReportData): string | undefined {
  return data.verificationSets.find((s) => s.startsWith('lfw:')) ?? data.verificationSets[0];
}

const NOT_BASELINES = new Set(['original', 'facemae', 'facemae-noirm']);

/** Each method's name and the unit of its strength, as rows are labelled. */
const VERSION_NAMES: Readonly<Record<string, [string, string]>> = {
  facemae: ['FaceMAE', 'mask ratio'],
  'facemae-noirm': ['FaceMAE without IRM', 'mask ratio'],
  mask: ['mask only', 'ratio'],
  blur: ['blur', 'sigma'],
  pixelate: ['pixelate', 'block'],
  noise: ['noise', 'std'],
  pixnoise: ['pixelate + noise', 'block'],
};

/**
 * A version's label in tables: 'original (no protection)', 'FaceMAE, mask ratio 0.75', 'noise, std
 * 80'; a FaceMAE release knob other than 1 adds ', paste-back W'.
 */
export function versionLabel(method: string, strength?: number | null, pasteBack = 1): string {
  if (method === 'original') return 'original (no protection)';
  const [name, unit] = VERSION_NAMES[method] ?? [method, 'strength'];
  return `${name}, ${unit} ${strength}${pasteBack === 1 ? '' : `, paste-back ${pasteBack}`}`;
}

/** What a verdict needs of a row: its id, method, worst-case privacy, accuracy and paired differences. */
export interface VerdictRow {
  id: string;
  method: string;
  worstIdentityTop1?: number | null;
  accuracy?: number | null;
  /** Differences (this row − the other) by the other row's id. */
  vs?: Record<string, { ci95: [number, number]; significant: boolean; paired?: boolean }>;
}

/** FaceMAE (IRM) rows against the best baseline at equal or stronger privacy (see EvidenceVerdict). */
export function verdictsOf(rows: readonly VerdictRow[]): EvidenceVerdict[] {
  const usable = rows.filter(
    (r) => typeof r.accuracy === 'number' && typeof r.worstIdentityTop1 === 'number',
  );
  const acc = (r: VerdictRow) => r.accuracy as number;
  const priv = (r: VerdictRow) => r.worstIdentityTop1 as number;
  return usable
    .filter((r) => r.method === 'facemae')
    .map((f) => {
      const [af, pf] = [acc(f), priv(f)];
      const dominates = usable
        .filter((b) => !NOT_BASELINES.has(b.method) && priv(b) >= pf && (b.vs?.[f.id]?.ci95[1] ?? 0) < 0)
        .map((b) => b.id);
      const best = usable
        .filter((b) => !NOT_BASELINES.has(b.method) && priv(b) <= pf)
        .sort((x, y) => acc(y) - acc(x))[0];
      if (!best)
        return {
          facemae: f.id,
          worstIdentityTop1: pf,
          accuracy: af,
          bestBaseline: null,
          outcome: 'no baseline as private',
          halvesError: false,
          dominates,
        };
      const ab = acc(best);
      // the baseline row holds the paired difference baseline − FaceMAE; turn it round
      const d = best.vs?.[f.id];
      const ci95: [number, number] | null = d ? [-d.ci95[1], -d.ci95[0]] : null;
      const significant = d ? d.significant : null;
      const diff = af - ab;
      const errorRatio = (1 - af) / (1 - ab);
      return {
        facemae: f.id,
        worstIdentityTop1: pf,
        accuracy: af,
        bestBaseline: {
          id: best.id,
          worstIdentityTop1: priv(best),
          accuracy: ab,
          diff,
          ci95,
          significant,
          ...(d?.paired === false ? { paired: false } : {}),
          errorRatio,
        },
        outcome: significant === null ? 'not tested' : !significant ? 'n.s.' : diff > 0 ? 'beats' : 'loses',
        halvesError: errorRatio <= 0.5,
        dominates,
      };
    });
}

/** The verdicts of a sweep's report data on verification set `set`. */
export function evidenceVerdicts(data: ReportData, set: string | undefined): EvidenceVerdict[] {
  if (!set) return [];
  return verdictsOf(
    data.rows.map((r: ReportRow) => ({
      id: r.id,
      method: r.method,
      worstIdentityTop1: r.privacy?.identityTop1,
      accuracy: r.utility[set]?.accuracy,
      vs: r.utility[set]?.vs,
    })),
  );
}

/**
 * The evidence of a sweep's report data; `perRow` adds, by row id, the recognizer's training steps
 * and the wall time of the row's steps, which the report data does not carry.
 */
export function toEvidence(
  data: ReportData,
  protocol: Record<string, unknown>,
  perRow: Readonly<Record<string, { steps?: number; seconds?: number }>> = {},
): EvidenceResults {
  const lfw = evidenceSet(data);
  return {
    protocol,
    rows: data.rows.map((r) => {
      const byAttacker = r.privacyByAttacker ?? (r.privacy ? { [data.attacker]: r.privacy } : {});
      const u = lfw ? r.utility[lfw] : undefined;
      return {
        method: r.method,
        strength: r.strength ?? null,
        ...(r.pasteBack !== undefined && r.pasteBack !== 1 ? { pasteBack: r.pasteBack } : {}),
        privacy: Object.fromEntries(
          Object.entries(byAttacker).map(([a, p]) => [
            a,
            {
              instanceTop1: p.instanceTop1,
              identityTop1: p.identityTop1,
              identityTop5: p.identityTop5,
              ...(p.probes !== undefined ? { probes: p.probes } : {}),
              ...(p.unit ? { unit: p.unit } : {}),
            },
          ]),
        ),
        worstIdentityTop1: r.privacy?.identityTop1 ?? null,
        worstAttacker: r.worstAttacker ?? null,
        worstCi95: r.worstCi95 ?? null,
        frozenIdentityTop1: r.frozenIdentityTop1 ?? null,
        lfw: u
          ? {
              accuracy: u.accuracy,
              ci95: u.ci95 ?? null,
              vs: u.vs ?? {},
              ...(u.pairCorrect ? { pairCorrect: u.pairCorrect } : {}),
            }
          : null,
        steps: perRow[r.id]?.steps ?? null,
        seconds: perRow[r.id]?.seconds ?? 0,
      };
    }),
    verdicts: evidenceVerdicts(data, lfw),
  };
}

/** A results file whose rows join a table (see joinUtility, joinPrivacy). */
export interface JoinSource {
  /** How the joined protocol names it (e.g. its path). */
  name: string;
  results: EvidenceResults;
  /** The rows to take, by id (absent: every row the join can use). */
  rows?: readonly string[];
}

/** What a recognizer's accuracy depends on besides the version of B (paths compared by file name). */
const RECIPE_KEYS = ['seed', 'size', 'split', 'verify', 'recognizer'] as const;
/** What an attack's figures depend on besides the attackers (the model: FaceMAE rows, inpainting). */
const ATTACK_KEYS = [
  'seed',
  'size',
  'split',
  'privacyImagesPerIdentity',
  'publicImagesPerIdentity',
  'mae',
] as const;

function keysOf(protocol: Record<string, unknown>, keys: readonly string[]): string {
  const pick = Object.fromEntries(keys.map((k) => [k, protocol[k] ?? null]));
  // keys in one order; a run's own file holds absolute paths, a committed one relative: compare
  // the paths' last two parts
  return JSON.stringify(pick, (_k, v: unknown) => {
    if (typeof v === 'string' && v.includes('/')) return v.split('/').filter(Boolean).slice(-2).join('/');
    if (v && typeof v === 'object' && !Array.isArray(v))
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return v;
  });
}

/**
 * Each source's rows (those named, else those `usable`), refusing a source whose protocol differs
 * from the first's on `keys`, a row named twice and a named row a source lacks or cannot give.
 */
function pickRows(
  sources: readonly JoinSource[],
  idOf: (r: EvidenceRow) => string,
  o: { keys: readonly string[]; what: string; figures: string; usable: (r: EvidenceRow) => boolean },
): { rows: EvidenceRow[]; protocol: Record<string, unknown> } {
  if (!sources.length) throw new FaceMaeError('no results files to join', 'E_INPUT');
  const first = sources[0]!;
  const want = keysOf(first.results.protocol, o.keys);
  const rows: EvidenceRow[] = [];
  const from = new Map<string, string>();
  for (const src of sources) {
    if (keysOf(src.results.protocol, o.keys) !== want)
      throw new FaceMaeError(
        `${src.name}: its ${o.what} (${o.keys.join(', ')}) differs from ${first.name}'s; its rows cannot join the table`,
        'E_INPUT',
      );
    const byId = new Map(src.results.rows.map((r) => [idOf(r), r]));
    for (const id of src.rows ?? [...byId.keys()].filter((i) => o.usable(byId.get(i)!))) {
      const r = byId.get(id);
      if (!r || !o.usable(r))
        throw new FaceMaeError(`${src.name} has ${r ? `no ${o.figures} for` : 'no'} row "${id}"`, 'E_INPUT');
      if (from.has(id))
        throw new FaceMaeError(
          `row "${id}" is in ${from.get(id)} and ${src.name}: name it in one source`,
          'E_INPUT',
        );
      from.set(id, src.name);
      rows.push(r);
    }
  }
  const joined = sources.map((s) => ({
    file: s.name,
    rows: rows.filter((r) => from.get(idOf(r)) === s.name).map(idOf),
  }));
  return { rows, protocol: { ...first.results.protocol, joined } };
}

/**
 * The utility rows of several sweeps in one table, for versions of B measured by different runs
 * with the same recognizer recipe on the same split (a version of B is the same images whichever
 * run made it: protections depend only on the seed and the image path). Each row comes from one
 * source; its differences to the reference rows (the original and every FaceMAE row) are measured
 * again across sources: paired where both carry per-pair scores, unpaired otherwise. The first
 * source's protocol is the table's, with `joined` (which rows came from which file) added.
 * Refuses a source whose recipe differs from the first's, a row named twice, and a named row a
 * source lacks or has no utility for.
 */
export function joinUtility(
  sources: readonly JoinSource[],
  idOf: (r: EvidenceRow) => string,
): EvidenceResults {
  const picked = pickRows(sources, idOf, {
    keys: RECIPE_KEYS,
    what: 'utility recipe',
    figures: 'utility',
    usable: (r) => r.lfw !== null,
  });
  const rows = picked.rows.map((r) => ({ ...r, lfw: { ...r.lfw!, vs: {} as Record<string, Difference> } }));
  const refs = rows.filter(isReference);
  for (const row of rows) {
    const u = row.lfw;
    for (const ref of refs) {
      const o = ref.lfw;
      if (ref === row) continue;
      if (u.pairCorrect && o.pairCorrect && u.pairCorrect.length === o.pairCorrect.length)
        u.vs[idOf(ref)] = pairedBootstrapDifference(
          correctnessBits(u.pairCorrect),
          correctnessBits(o.pairCorrect),
        );
      else if (u.ci95 && o.ci95)
        u.vs[idOf(ref)] = {
          ...unpairedDifference(
            { accuracy: u.accuracy, ci95: u.ci95 },
            { accuracy: o.accuracy, ci95: o.ci95 },
          ),
          paired: false,
        };
    }
  }
  return { protocol: picked.protocol, rows, verdicts: [] };
}

/**
 * The attacked rows of several privacy sweeps of the same protocol (split, images per identity,
 * FaceMAE model) in one table, e.g. a run that added rows or parrots to an earlier one: each row
 * from the one source that names it (absent lists: every row), as that source measured it.
 */
export function joinPrivacy(
  sources: readonly JoinSource[],
  idOf: (r: EvidenceRow) => string,
): EvidenceResults {
  const picked = pickRows(sources, idOf, {
    keys: ATTACK_KEYS,
    what: 'attack protocol',
    figures: 'attack figures',
    usable: (r) => Object.keys(r.privacy).length > 0,
  });
  return { protocol: picked.protocol, rows: picked.rows, verdicts: [] };
}
