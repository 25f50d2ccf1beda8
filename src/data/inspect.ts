/**
 * Describes a dataset without loading it whole: an identity folder, a RecordIO .rec, an
 * insightface .bin, or a pairs protocol folder (LFW / CFP). Image sizes come from the headers
 * of an evenly spaced sample (sharp metadata, no full decode).
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { FaceMaeError } from '../core/errors.js';
import { readBin } from './bin-file.js';
import { checkImageHeader, listImageFolder, MAX_IMAGE_PIXELS } from './image-folder.js';
import { openRecordIO, resolveRecPath } from './recordio.js';
import { parseVerificationSpec, resolvePairs } from './verification-set.js';

export type DatasetKind = 'folder' | 'recordio' | 'bin' | 'lfw' | 'cfp-fp' | 'cfp-ff';

export interface DatasetSummary {
  path: string;
  kind: DatasetKind;
  /** Images in the set (for pair sets: 2 × pairs, counting repeats). */
  images: number;
  identities?: number;
  imagesPerIdentity?: { min: number; median: number; max: number };
  pairs?: number;
  same?: number;
  different?: number;
  folds?: number;
  /** Distinct image files a pair set uses. */
  uniqueImages?: number;
  /** "WxH" -> count, over the sampled images. */
  sizes: Record<string, number>;
  /** "jpeg" | "png" | ... -> count, over the sampled images. */
  formats: Record<string, number>;
  sizesSampled: number;
  /** Sampled images that could not be decoded (truncated, corrupt, too large), by name. */
  unreadable: UnreadableImage[];
}

export interface InspectOptions {
  /** Images whose headers are read for sizes/formats (default 200; 0 = all). */
  sample?: number;
}

/** Which kind of dataset `p` is, or a FaceMaeError saying what was expected. */
export function detectDatasetKind(p: string): DatasetKind {
  if (!fs.existsSync(p)) throw new FaceMaeError(`${p} does not exist`, 'E_NOT_FOUND');
  const st = fs.statSync(p);
  if (st.isFile()) {
    if (p.endsWith('.rec')) return 'recordio';
    if (p.endsWith('.idx') && fs.existsSync(p.replace(/\.idx$/, '.rec'))) return 'recordio';
    if (p.endsWith('.bin')) return 'bin';
    if (path.basename(p).startsWith('pairs')) return 'lfw';
    throw new FaceMaeError(
      `cannot tell what ${p} is: expected a .rec, a .bin, a pairs.txt, or a folder`,
      'E_SPEC',
    );
  }
  if (fs.existsSync(resolveRecPath(p))) return 'recordio';
  if (fs.existsSync(path.join(p, 'pairs.txt'))) return 'lfw';
  if (fs.existsSync(path.join(p, 'Protocol', 'Pair_list_F.txt'))) return 'cfp-fp';
  return 'folder';
}

function spread(n: number, sample: number): number[] {
  const k = sample <= 0 || sample >= n ? n : sample;
  return Array.from({ length: k }, (_, i) => Math.floor((i * n) / k));
}

/** An image the sample could not read: where it is, and sharp's reason. */
export interface UnreadableImage {
  source: string;
  reason: string;
}

async function headerStats(
  inputs: Array<{ source: string; get: () => Promise<Uint8Array | string> }>,
): Promise<Pick<DatasetSummary, 'sizes' | 'formats' | 'sizesSampled' | 'unreadable'>> {
  const sizes: Record<string, number> = {};
  const formats: Record<string, number> = {};
  const unreadable: UnreadableImage[] = [];
  for (const { source, get } of inputs) {
    let key = 'unreadable';
    let fmt = 'unreadable';
    try {
      const input = await get();
      await checkImageHeader(input, source);
      const m = await sharp(input, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata();
      // A full decode finds truncation (the header alone often survives it); one image at a time.
      await sharp(input, { failOn: 'truncated', limitInputPixels: MAX_IMAGE_PIXELS }).raw().toBuffer();
      key = `${m.width}x${m.height}`;
      fmt = m.format ?? 'unknown';
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      unreadable.push({ source, reason: (msg.split('\n')[0] ?? msg).trim() });
    }
    sizes[key] = (sizes[key] ?? 0) + 1;
    formats[fmt] = (formats[fmt] ?? 0) + 1;
  }
  return { sizes, formats, sizesSampled: inputs.length, unreadable };
}

/** A FaceMaeError naming the unreadable images of a summary (the CLI exits non-zero with it). */
export function unreadableError(s: DatasetSummary): FaceMaeError | undefined {
  if (s.unreadable.length === 0) return undefined;
  const list = s.unreadable
    .slice(0, 5)
    .map((u) => `${u.source} (${u.reason})`)
    .join('; ');
  return new FaceMaeError(
    `${s.unreadable.length} of ${s.sizesSampled} sampled image(s) in ${s.path} cannot be read: ${list}${s.unreadable.length > 5 ? '; …' : ''}. Replace or remove them`,
    'E_IMAGE_CORRUPT',
  );
}

function perIdentity(labels: number[]): DatasetSummary['imagesPerIdentity'] {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const c = [...counts.values()].sort((a, b) => a - b);
  if (c.length === 0) return undefined;
  return { min: c[0]!, median: c[Math.floor(c.length / 2)]!, max: c[c.length - 1]! };
}

/** Counts images, identities, pairs and image sizes of any dataset this project reads. */
export async function inspectDataset(p: string, opts: InspectOptions = {}): Promise<DatasetSummary> {
  const sample = opts.sample ?? 200;
  const kind = detectDatasetKind(p);
  switch (kind) {
    case 'folder': {
      const { records, identities } = await listImageFolder(p);
      const stats = await headerStats(
        spread(records.length, sample).map((i) => ({
          source: records[i]!.path,
          get: async () => records[i]!.path,
        })),
      );
      return {
        path: p,
        kind,
        images: records.length,
        identities: identities.length,
        imagesPerIdentity: perIdentity(records.map((r) => r.label)),
        ...stats,
      };
    }
    case 'recordio': {
      const src = await openRecordIO(p.endsWith('.idx') ? p.replace(/\.idx$/, '.rec') : p);
      try {
        const labels = Array.from({ length: src.length }, (_, i) => src.record(i).label);
        const stats = await headerStats(
          spread(src.length, sample).map((i) => ({
            source: src.record(i).path,
            get: () => src.readEncoded(i),
          })),
        );
        return {
          path: p,
          kind,
          images: src.length,
          identities: src.identities.length,
          imagesPerIdentity: perIdentity(labels),
          ...stats,
        };
      } finally {
        await src.close();
      }
    }
    case 'bin': {
      const bin = await readBin(p);
      const same = bin.issame.filter(Boolean).length;
      const stats = await headerStats(
        spread(bin.images.length, sample).map((i) => ({
          source: `${p}#${i}`,
          get: async () => bin.images[i]!,
        })),
      );
      return {
        path: p,
        kind,
        images: bin.images.length,
        pairs: bin.issame.length,
        same,
        different: bin.issame.length - same,
        ...stats,
      };
    }
    case 'lfw':
    case 'cfp-fp':
    case 'cfp-ff': {
      const spec = parseVerificationSpec(`${kind}:${p}`);
      const pairs = resolvePairs(spec)!;
      const files = [...new Set(pairs.flatMap((q) => [q.a, q.b]))];
      const same = pairs.filter((q) => q.same).length;
      const stats = await headerStats(
        spread(files.length, sample).map((i) => ({ source: files[i]!, get: async () => files[i]! })),
      );
      return {
        path: p,
        kind,
        images: pairs.length * 2,
        pairs: pairs.length,
        same,
        different: pairs.length - same,
        folds: new Set(pairs.map((q) => q.fold)).size,
        uniqueImages: files.length,
        ...stats,
      };
    }
  }
}

/** One paragraph for humans. */
export function formatSummary(s: DatasetSummary): string {
  const lines = [`${s.path}: ${s.kind}`];
  if (s.pairs !== undefined) {
    lines.push(
      `  pairs: ${s.pairs} (${s.same} same, ${s.different} different)${s.folds ? ` in ${s.folds} fold(s)` : ''}`,
    );
  }
  lines.push(
    `  images: ${s.images}${s.uniqueImages !== undefined ? ` (${s.uniqueImages} distinct files)` : ''}`,
  );
  if (s.identities !== undefined) {
    const per = s.imagesPerIdentity;
    lines.push(
      `  identities: ${s.identities}${per ? ` (images per identity: min ${per.min}, median ${per.median}, max ${per.max})` : ''}`,
    );
  }
  const fmt = (r: Record<string, number>) =>
    Object.entries(r)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ');
  lines.push(`  sizes (${s.sizesSampled} sampled): ${fmt(s.sizes)}`);
  lines.push(`  formats: ${fmt(s.formats)}`);
  return lines.join('\n');
}
