/**
 * Alignment quality against insightface's own LFW crops: align the raw photos, embed our crop and
 * the insightface crop of the same file with the faceplugin recognizer, compare by cosine.
 * Used by lfw-shared.test.ts (when ../shared exists) and by eval-lfw.ts (the documented command).
 */
import fs from 'node:fs';
import path from 'node:path';
import { alignFolder, DEFAULT_ALIGN_CONFIG } from '../../src/align/index.js';
import { decodePhoto } from '../../src/align/image-io.js';
import { cosine, createFaceRecognizerForCheck } from './fr-check.js';

export interface LfwCheck {
  detector: string;
  images: number;
  faces: number;
  padded: number;
  detectionRate: number;
  noFace: string[];
  compared: number;
  cosine: { median: number; mean: number; p05: number; min: number };
  alignSeconds: number;
}

export async function measureAgainstInsightface(opts: {
  detector: string;
  data: string;
  ref: string;
  out: string;
}): Promise<LfwCheck> {
  const { report, noFace } = await alignFolder(
    { ...DEFAULT_ALIGN_CONFIG, data: opts.data, out: opts.out, detector: opts.detector },
    { resume: true },
  );
  const fr = await createFaceRecognizerForCheck();
  const cos: number[] = [];
  try {
    const files = (fs.readdirSync(opts.out, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.jpg'))
      .sort();
    for (const name of files) {
      const refFile = path.join(opts.ref, name);
      if (!fs.existsSync(refFile)) continue; // the raw sample has photos pairs.txt never uses
      const ours = await decodePhoto(path.join(opts.out, name));
      const theirs = await decodePhoto(refFile);
      cos.push(cosine(await fr.embed(ours.data), await fr.embed(theirs.data)));
    }
  } finally {
    await fr.dispose();
  }
  cos.sort((a, b) => a - b);
  const q = (p: number) => cos[Math.round(p * (cos.length - 1))] ?? NaN;
  return {
    detector: opts.detector,
    images: report.total,
    faces: report.aligned + report.kept,
    padded: report.padded,
    detectionRate: report.detectionRate,
    noFace: noFace.map((e) => e.path),
    compared: cos.length,
    cosine: {
      median: q(0.5),
      mean: cos.reduce((s, v) => s + v, 0) / cos.length,
      p05: q(0.05),
      min: cos[0] ?? NaN,
    },
    alignSeconds: report.seconds,
  };
}
