/**
 * Verification sets for face recognition (LFW, CFP-FP, AgeDB-30): pairs of images, interleaved as
 * insightface does (`images[2i]`, `images[2i+1]` are pair i), with same/different labels and folds.
 * Specs: 'lfw:DIR' (DIR/pairs.txt + DIR/images/<Name>/<Name>_NNNN.jpg), 'bin:FILE' (insightface .bin),
 * 'agedb:FILE' / 'cfp-fp:FILE.bin' (a .bin), 'cfp-fp:DIR' / 'cfp-ff:DIR' (the CFP release layout),
 * or a plain path (auto-detected).
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import type { OnProgress, RgbImage } from '../types.js';
import { readBin } from './bin-file.js';
import { decodeImage, onceWarning, readImage, type OnWarning, type WrongSizePolicy } from './image-folder.js';
import { resolveCfpPairs, resolveLfwPairs, type PairEntry } from './pairs.js';

export interface VerificationSet {
  /** 'lfw', 'cfp_fp', 'agedb_30', or the .bin's base name. */
  name: string;
  /** 2P images: pair i is (images[2i], images[2i+1]). Repeated files share one RgbImage. */
  images: RgbImage[];
  /** P labels: true when pair i shows one person. */
  issame: boolean[];
  /** Fold of each pair (0-based) where the protocol defines them; else evaluators use 10 contiguous folds. */
  folds?: number[];
  /** Where each image came from (file path, or `file.bin#k`), for messages and reports. */
  sources: string[];
}

export interface ReadVerificationOptions {
  /** Resize/refuse images that are not size×size (default: keep as stored). */
  size?: number;
  onWrongSize?: WrongSizePolicy;
  onWarning?: OnWarning;
  onProgress?: OnProgress;
  /** Images decoded at once (default 8). */
  concurrency?: number;
}

export type VerificationKind = 'lfw' | 'bin' | 'cfp-fp' | 'cfp-ff';

/** A parsed spec: what to read, without reading images. */
export interface VerificationSpec {
  kind: VerificationKind;
  path: string;
  name: string;
}

const KINDS: Record<string, VerificationKind> = {
  lfw: 'lfw',
  bin: 'bin',
  agedb: 'bin',
  'cfp-fp': 'cfp-fp',
  'cfp-ff': 'cfp-ff',
};

/** Parses 'kind:PATH' or auto-detects a plain path (.bin file, folder with pairs.txt, CFP folder). */
export function parseVerificationSpec(spec: string): VerificationSpec {
  const m = /^([a-z-]+):(.+)$/.exec(spec);
  if (m && m[1]!.length > 1) {
    const prefix = m[1]!;
    const p = m[2]!;
    const kind = KINDS[prefix];
    if (!kind) {
      throw new FaceMaeError(
        `unknown verification set kind "${prefix}" in "${spec}": use lfw:DIR, bin:FILE, agedb:FILE, cfp-fp:DIR|FILE.bin or a plain path`,
        'E_SPEC',
      );
    }
    if (!fs.existsSync(p))
      throw new FaceMaeError(`verification set ${p} (from "${spec}") does not exist`, 'E_NOT_FOUND');
    if ((kind === 'cfp-fp' || kind === 'cfp-ff') && fs.statSync(p).isFile())
      return { kind: 'bin', path: p, name: binName(p) };
    if (kind === 'bin')
      return { kind, path: p, name: prefix === 'agedb' && binName(p) === 'bin' ? 'agedb_30' : binName(p) };
    if (kind === 'lfw' && fs.statSync(p).isFile()) return { kind, path: p, name: 'lfw' };
    return { kind, path: p, name: kind === 'lfw' ? 'lfw' : kind.replace('-', '_') };
  }
  if (!fs.existsSync(spec)) throw new FaceMaeError(`verification set ${spec} does not exist`, 'E_NOT_FOUND');
  const st = fs.statSync(spec);
  if (st.isFile()) {
    if (spec.endsWith('.bin')) return { kind: 'bin', path: spec, name: binName(spec) };
    if (path.basename(spec).toLowerCase().startsWith('pairs'))
      return { kind: 'lfw', path: spec, name: 'lfw' };
  } else {
    if (fs.existsSync(path.join(spec, 'pairs.txt'))) return { kind: 'lfw', path: spec, name: 'lfw' };
    if (fs.existsSync(path.join(spec, 'Protocol', 'Pair_list_F.txt')))
      return { kind: 'cfp-fp', path: spec, name: 'cfp_fp' };
  }
  throw new FaceMaeError(
    `cannot tell what verification set ${spec} is: expected a .bin file, a folder with pairs.txt, or a CFP folder with Protocol/Pair_list_F.txt (or say lfw:, bin:, cfp-fp:)`,
    'E_SPEC',
  );
}

function binName(file: string): string {
  return path.basename(file).replace(/\.bin$/, '') || 'bin';
}

/** The pairs of a text-protocol set (lfw / cfp) without decoding; undefined for .bin sets. */
export function resolvePairs(spec: VerificationSpec): PairEntry[] | undefined {
  switch (spec.kind) {
    case 'lfw': {
      const isFile = fs.statSync(spec.path).isFile();
      return isFile ? resolveLfwPairs(path.dirname(spec.path), spec.path) : resolveLfwPairs(spec.path);
    }
    case 'cfp-fp':
      return resolveCfpPairs(spec.path, 'FP');
    case 'cfp-ff':
      return resolveCfpPairs(spec.path, 'FF');
    case 'bin':
      return undefined;
  }
}

/** Reads a verification set (see the module comment for specs); images decoded to RGB. */
export async function readVerificationSet(
  spec: string,
  opts: ReadVerificationOptions = {},
): Promise<VerificationSet> {
  const parsed = parseVerificationSpec(spec);
  const readOpts = { size: opts.size, onWrongSize: opts.onWrongSize, onWarning: onceWarning(opts.onWarning) };
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  if (parsed.kind === 'bin') {
    const bin = await readBin(parsed.path);
    const sources = bin.images.map((_, k) => `${parsed.path}#${k}`);
    const images = await mapLimited(
      bin.images,
      concurrency,
      (b, k) => decodeImage(b, sources[k]!, readOpts),
      opts.onProgress,
    );
    return { name: parsed.name, images, issame: bin.issame, sources };
  }
  const pairs = resolvePairs(parsed)!;
  const files = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const decoded = await mapLimited(files, concurrency, (f) => readImage(f, readOpts), opts.onProgress);
  const byFile = new Map(files.map((f, k) => [f, decoded[k]!]));
  const images: RgbImage[] = [];
  const sources: string[] = [];
  for (const p of pairs) {
    images.push(byFile.get(p.a)!, byFile.get(p.b)!);
    sources.push(p.a, p.b);
  }
  return {
    name: parsed.name,
    images,
    issame: pairs.map((p) => p.same),
    folds: pairs.map((p) => p.fold),
    sources,
  };
}

/** Maps with at most `limit` promises in flight, keeping order. */
async function mapLimited<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, k: number) => Promise<R>,
  onProgress?: OnProgress,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let k = next++; k < items.length; k = next++) {
      out[k] = await fn(items[k] as T, k);
      onProgress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
