/**
 * Verification-pair protocols as text files:
 * - LFW `pairs.txt` (and `pairsDevTrain/Test.txt`): a header `F N` (folds × same-pairs per fold;
 *   space or tab; `N` alone means one fold), then per fold N same lines `Name i j` followed by N
 *   different lines `NameA i NameB j` (1-based image numbers, files `Name_%04d.jpg`).
 * - CFP (Sengupta et al. 2016) `Protocol/`: `Pair_list_F.txt` / `Pair_list_P.txt` map numbers to
 *   image paths (relative to Protocol/); `Split/{FP,FF}/01..10/{same,diff}.txt` hold `i,j` lines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { checkSafeName } from '../core/fs.js';
import type { Rng } from '../core/rng.js';

/** One pair: two image paths, same identity or not, its fold, and where it was declared. */
export interface PairEntry {
  a: string;
  b: string;
  same: boolean;
  fold: number;
  /** `file:line: text`, for messages. */
  origin: string;
}

export interface LfwPairLine {
  nameA: string;
  numA: number;
  nameB: string;
  numB: number;
  same: boolean;
  fold: number;
  lineNo: number;
  text: string;
}

/** Parses LFW pairs text; `file` names it in errors. */
export function parseLfwPairs(
  text: string,
  file: string,
): { folds: number; perFold: number; pairs: LfwPairLine[] } {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().split(/\s+/).map(Number);
  let folds: number;
  let perFold: number;
  if (header.length === 2 && header.every((n) => Number.isInteger(n) && n > 0))
    [folds, perFold] = header as [number, number];
  else if (header.length === 1 && Number.isInteger(header[0]) && (header[0] as number) > 0)
    [folds, perFold] = [1, header[0] as number];
  else {
    throw new FaceMaeError(
      `${file}:1: "${lines[0] ?? ''}" is not an LFW pairs header; expected "<folds> <pairs per fold>", e.g. "10 300"`,
      'E_PAIRS_FORMAT',
    );
  }
  const pairs: LfwPairLine[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i] as string;
    const t = raw.trim();
    if (!t) continue;
    const f = t.split(/\s+/);
    const lineNo = i + 1;
    const num = (s: string | undefined) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) {
        throw new FaceMaeError(
          `${file}:${lineNo}: "${t}": image number "${s}" is not a positive integer`,
          'E_PAIRS_FORMAT',
        );
      }
      return n;
    };
    const k = pairs.length;
    const fold = Math.floor(k / (2 * perFold));
    // names become folder names under the image root: no "..", separators or absolute paths
    if (f.length === 3 || f.length === 4) {
      checkSafeName(f[0]!, `${file}:${lineNo}`);
      if (f.length === 4) checkSafeName(f[2]!, `${file}:${lineNo}`);
    }
    if (f.length === 3) {
      pairs.push({
        nameA: f[0]!,
        numA: num(f[1]),
        nameB: f[0]!,
        numB: num(f[2]),
        same: true,
        fold,
        lineNo,
        text: t,
      });
    } else if (f.length === 4) {
      pairs.push({
        nameA: f[0]!,
        numA: num(f[1]),
        nameB: f[2]!,
        numB: num(f[3]),
        same: false,
        fold,
        lineNo,
        text: t,
      });
    } else {
      throw new FaceMaeError(
        `${file}:${lineNo}: "${t}" has ${f.length} fields; expected "Name i j" (same) or "NameA i NameB j" (different)`,
        'E_PAIRS_FORMAT',
      );
    }
  }
  if (pairs.length !== folds * 2 * perFold) {
    throw new FaceMaeError(
      `${file}: the header says ${folds} fold(s) × (${perFold} same + ${perFold} different) = ${folds * 2 * perFold} pairs, but the file has ${pairs.length}`,
      'E_PAIRS_FORMAT',
    );
  }
  return { folds, perFold, pairs };
}

/**
 * Resolves LFW pairs to image paths under `dir`: `images/<Name>/<Name>_NNNN.{jpg,jpeg,png}`, or the
 * same under `dir/<Name>/`, or `<n>.{jpg,png}` numbering. Missing images -> FaceMaeError naming the
 * pairs line and the file looked for.
 */
export function resolveLfwPairs(dir: string, pairsFile = path.join(dir, 'pairs.txt')): PairEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(pairsFile, 'utf8');
  } catch {
    throw new FaceMaeError(
      `LFW pairs file ${pairsFile} not found: an lfw:DIR set needs DIR/pairs.txt and DIR/images/<Name>/<Name>_0001.jpg`,
      'E_NOT_FOUND',
    );
  }
  const { pairs } = parseLfwPairs(text, pairsFile);
  const imageRoot = fs.existsSync(path.join(dir, 'images')) ? path.join(dir, 'images') : dir;
  const listing = new Map<string, Set<string>>();
  const filesOf = (name: string): Set<string> => {
    let s = listing.get(name);
    if (!s) {
      try {
        s = new Set(fs.readdirSync(path.join(imageRoot, name)));
      } catch {
        s = new Set();
      }
      listing.set(name, s);
    }
    return s;
  };
  const find = (name: string, n: number, p: LfwPairLine): string => {
    const files = filesOf(name);
    const stem = `${name}_${String(n).padStart(4, '0')}`;
    for (const c of [`${stem}.jpg`, `${stem}.jpeg`, `${stem}.png`, `${n}.jpg`, `${n}.png`]) {
      if (files.has(c)) return path.join(imageRoot, name, c);
    }
    throw new FaceMaeError(
      `${pairsFile}:${p.lineNo}: pair "${p.text}" names image ${path.join(imageRoot, name, `${stem}.jpg`)}, which does not exist; fix the pairs file or add the image`,
      'E_PAIR_MISSING',
    );
  };
  return pairs.map((p) => ({
    a: find(p.nameA, p.numA, p),
    b: find(p.nameB, p.numB, p),
    same: p.same,
    fold: p.fold,
    origin: `${pairsFile}:${p.lineNo}: ${p.text}`,
  }));
}

/** Finds the folder holding `Protocol/` for a CFP set given the dataset root or Protocol itself. */
function cfpProtocolDir(dir: string): string {
  for (const c of [path.join(dir, 'Protocol'), dir]) {
    if (fs.existsSync(path.join(c, 'Pair_list_F.txt'))) return c;
  }
  throw new FaceMaeError(
    `${dir} is not a CFP dataset folder: expected ${path.join(dir, 'Protocol', 'Pair_list_F.txt')} (and Pair_list_P.txt, Split/FP/01..10/{same,diff}.txt)`,
    'E_NOT_FOUND',
  );
}

function readPairList(file: string, protocolDir: string): Map<number, { path: string; line: string }> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new FaceMaeError(`CFP pair list ${file} not found`, 'E_NOT_FOUND');
  }
  const out = new Map<number, { path: string; line: string }>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (!t) return;
    const m = /^(\d+)\s+(.+)$/.exec(t);
    if (!m)
      throw new FaceMaeError(`${file}:${i + 1}: "${t}" is not "<number> <image path>"`, 'E_PAIRS_FORMAT');
    out.set(Number(m[1]), { path: path.resolve(protocolDir, m[2]!.trim()), line: `${file}:${i + 1}` });
  });
  return out;
}

/**
 * Resolves the CFP frontal-profile (`'FP'`: 10 folds × (350 same + 350 different)) or
 * frontal-frontal (`'FF'`) protocol. Fold order: 01..10, each fold's same pairs then its different pairs.
 */
export function resolveCfpPairs(dir: string, protocol: 'FP' | 'FF' = 'FP'): PairEntry[] {
  const proto = cfpProtocolDir(dir);
  const frontal = readPairList(path.join(proto, 'Pair_list_F.txt'), proto);
  const second = protocol === 'FP' ? readPairList(path.join(proto, 'Pair_list_P.txt'), proto) : frontal;
  const splitDir = path.join(proto, 'Split', protocol);
  let foldNames: string[];
  try {
    foldNames = fs
      .readdirSync(splitDir)
      .filter((n) => /^\d+$/.test(n))
      .sort((x, y) => Number(x) - Number(y));
  } catch {
    throw new FaceMaeError(
      `CFP split folder ${splitDir} not found: expected ${splitDir}/01..10/{same,diff}.txt`,
      'E_NOT_FOUND',
    );
  }
  if (foldNames.length === 0)
    throw new FaceMaeError(`CFP split folder ${splitDir} has no fold folders 01..10`, 'E_NOT_FOUND');
  const pairs: PairEntry[] = [];
  const checked = new Set<string>();
  foldNames.forEach((fname, fold) => {
    for (const kind of ['same', 'diff'] as const) {
      const file = path.join(splitDir, fname, `${kind}.txt`);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        throw new FaceMaeError(`CFP split file ${file} not found`, 'E_NOT_FOUND');
      }
      text.split(/\r?\n/).forEach((raw, i) => {
        const t = raw.trim();
        if (!t) return;
        const m = /^(\d+)\s*,\s*(\d+)$/.exec(t);
        if (!m) throw new FaceMaeError(`${file}:${i + 1}: "${t}" is not "i,j"`, 'E_PAIRS_FORMAT');
        const origin = `${file}:${i + 1}: ${t}`;
        const ea = frontal.get(Number(m[1]));
        const eb = second.get(Number(m[2]));
        if (!ea || !eb) {
          const which = !ea
            ? `${m[1]} is not in Pair_list_F.txt`
            : `${m[2]} is not in Pair_list_${protocol === 'FP' ? 'P' : 'F'}.txt`;
          throw new FaceMaeError(`${origin}: image number ${which}`, 'E_PAIR_MISSING');
        }
        for (const e of [ea, eb]) {
          if (checked.has(e.path)) continue;
          if (!fs.existsSync(e.path)) {
            throw new FaceMaeError(
              `${origin}: pair names image ${e.path} (${e.line}), which does not exist; fix the lists or add the image`,
              'E_PAIR_MISSING',
            );
          }
          checked.add(e.path);
        }
        pairs.push({ a: ea.path, b: eb.path, same: kind === 'same', fold, origin });
      });
    }
  });
  return pairs;
}

/**
 * LFW-style pairs text over `counts` (identity -> number of images, files `Name_%04d` numbered
 * from 1): identities are dealt to `folds` folds after a seeded shuffle, so folds share no person
 * (as LFW's), and each fold gets `perFold` same pairs (an identity of the fold with ≥ 2 images, two
 * distinct images) and `perFold` different pairs (two identities of the fold), drawn by `rng`.
 */
export function makeLfwPairs(
  counts: ReadonlyMap<string, number>,
  opts: { folds: number; perFold: number; rng: Rng },
): string {
  const { folds, perFold, rng } = opts;
  const names = rng.shuffle([...counts.keys()].sort());
  const byFold = Array.from({ length: folds }, (_, f) => names.filter((_, i) => i % folds === f));
  const lines = [`${folds}\t${perFold}`];
  byFold.forEach((ids, f) => {
    const multi = ids.filter((n) => (counts.get(n) ?? 0) >= 2);
    if (ids.length < 2 || multi.length === 0)
      throw new FaceMaeError(
        `fold ${f + 1} has ${ids.length} identities (${multi.length} with two images or more): a fold needs 2 identities and one with two images; use fewer folds`,
        'E_CONFIG',
      );
    for (let k = 0; k < perFold; k++) {
      const n = multi[rng.int(multi.length)]!;
      const c = counts.get(n)!;
      const i = rng.int(c);
      const j = (i + 1 + rng.int(c - 1)) % c;
      lines.push(`${n}\t${Math.min(i, j) + 1}\t${Math.max(i, j) + 1}`);
    }
    for (let k = 0; k < perFold; k++) {
      const a = rng.int(ids.length);
      const b = (a + 1 + rng.int(ids.length - 1)) % ids.length;
      const [na, nb] = [ids[a]!, ids[b]!];
      lines.push(`${na}\t${rng.int(counts.get(na)!) + 1}\t${nb}\t${rng.int(counts.get(nb)!) + 1}`);
    }
  });
  return lines.join('\n') + '\n';
}
