/**
 * A sweep's image grid: one image of each of the first identities of B, across every version
 * (the original, what FaceMAE's encoder saw, each release), written as one PNG.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRng } from '../core/rng.js';
import { readImage } from '../data/image-folder.js';
import { listSourceRecords, openFaceSource, recordFileName, sourceRecords } from '../data/source.js';
import { fillPatches, maskPatches } from '../protect/distortions.js';
import { readManifest } from '../protect/manifest.js';
import type { FaceRecord, RgbImage } from '../types.js';
import { composeGrid } from './grid.js';
import { writePng } from './write.js';

/** A column after the original. */
export type GridColumn =
  /** The patches FaceMAE's encoder saw at `ratio`: the release manifest's, else a fresh random mask. */
  | { kind: 'masked'; ratio: number; manifest: string }
  /** A release's image of the same file (a gray cell when it has none). */
  | { kind: 'release'; images: string };

export interface SweepGridOptions {
  /** B: an identity folder or a .rec. */
  deploy: string;
  rows: number;
  columns: readonly GridColumn[];
  size: number;
  patchSize: number;
  /** Seeds the fresh masks (only drawn where a manifest has none). */
  seed: number;
  file: string;
}

/** One image of a deployment set by its record (a file, or a .rec record). */
async function readRecord(data: string, rec: FaceRecord, size: number): Promise<RgbImage> {
  if (!rec.path.includes('.rec#')) return readImage(rec.path, { size });
  const src = await openFaceSource(data);
  try {
    const i = sourceRecords(src).findIndex((r) => r.path === rec.path);
    return await src.read(i, { size });
  } finally {
    await src.close();
  }
}

/** `<identity>/<file>` -> kept patch indices, from a FaceMAE release's manifest (empty when absent). */
function readKeptPatches(file: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of readManifest(file).values())
    if ('keep' in m)
      out.set(`${m.identity}/${recordFileName({ path: m.source, identity: m.identity, label: 0 })}`, m.keep);
  return out;
}

/** The image with every patch not in `keep` set to gray (what the MAE encoder saw). */
function maskWithKeep(img: RgbImage, keep: number[], p: number): RgbImage {
  const mask = new Uint8Array((img.width / p) * (img.height / p)).fill(1);
  for (const k of keep) mask[k] = 0;
  return fillPatches(img, mask, p);
}

/** Draws the grid into `opts.file`; returns it and the number of rows drawn. */
export async function writeSweepGrid(opts: SweepGridOptions): Promise<{ file: string; rows: number }> {
  const records = await listSourceRecords(opts.deploy);
  const firsts = records
    .filter((r, i) => i === 0 || records[i - 1]!.identity !== r.identity)
    .slice(0, opts.rows);
  const rng = createRng(opts.seed).fork('grid');
  const find = async (dir: string, rec: FaceRecord) => {
    const stem = path.parse(recordFileName(rec)).name;
    const folder = path.join(dir, rec.identity);
    const f = fs.existsSync(folder)
      ? fs.readdirSync(folder).find((x) => path.parse(x).name === stem)
      : undefined;
    return f ? readImage(path.join(folder, f), { size: opts.size }) : undefined;
  };
  const kept = opts.columns.map((c) => (c.kind === 'masked' ? readKeptPatches(c.manifest) : undefined));
  const rows: Array<Array<RgbImage | undefined>> = [];
  for (const rec of firsts) {
    const orig = await readRecord(opts.deploy, rec, opts.size);
    const row: Array<RgbImage | undefined> = [orig];
    for (const [i, c] of opts.columns.entries()) {
      if (c.kind === 'release') {
        row.push(await find(c.images, rec));
        continue;
      }
      const keep = kept[i]?.get(`${rec.identity}/${recordFileName(rec)}`);
      row.push(
        keep
          ? maskWithKeep(orig, keep, opts.patchSize)
          : maskPatches(orig, c.ratio, rng.fork(`${rec.identity}/${c.ratio}`), { patchSize: opts.patchSize })
              .image,
      );
    }
    rows.push(row);
  }
  await writePng(opts.file, composeGrid(rows, opts.size, 4));
  return { file: opts.file, rows: rows.length };
}
