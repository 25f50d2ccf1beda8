/** Done-criteria on the shared raw LFW sample (skipped on a fresh clone without ../shared). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { measureAgainstInsightface } from './lfw-check.js';

const SHARED = path.resolve(import.meta.dirname, '../../../shared');
const RAW = path.join(SHARED, 'data/lfw-raw-sample/images');
const REF = path.join(SHARED, 'data/lfw-aligned-112/images');
const SCRFD = path.join(SHARED, 'models/scrfd_500m_kps.onnx');
const hasData = fs.existsSync(RAW) && fs.existsSync(REF);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'align-lfw-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('alignment of the raw LFW sample vs insightface crops', () => {
  it.skipIf(!hasData)('faceplugin: ≥ 98% faces, median cosine ≥ 0.95', async () => {
    const r = await measureAgainstInsightface({
      detector: 'faceplugin',
      data: RAW,
      ref: REF,
      out: path.join(tmp, 'fp'),
    });
    expect(r.images).toBeGreaterThan(150);
    expect(r.detectionRate).toBeGreaterThanOrEqual(0.98);
    expect(r.compared).toBeGreaterThan(100);
    expect(r.cosine.median).toBeGreaterThanOrEqual(0.95);
  });

  it.skipIf(!hasData || !fs.existsSync(SCRFD))('scrfd: ≥ 98% faces, median cosine ≥ 0.95', async () => {
    const r = await measureAgainstInsightface({
      detector: `scrfd:${SCRFD}`,
      data: RAW,
      ref: REF,
      out: path.join(tmp, 'scrfd'),
    });
    expect(r.detectionRate).toBeGreaterThanOrEqual(0.98);
    expect(r.compared).toBeGreaterThan(100);
    expect(r.cosine.median).toBeGreaterThanOrEqual(0.95);
  });
});
