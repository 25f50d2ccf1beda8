/**
 * One protection pipeline (issue 25): FaceMAE and a baseline write the same release layout
 * (OUT/images, OUT/manifest.jsonl, OUT/config.json), read back by one manifest reader, resumed by
 * one path, and every verb that reads a protected set takes the run folder (before, `privacy
 * --protected <reconstruct --out>` found "no images").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { listImageFolder } from '../../src/data/image-folder.js';
import { datasetRoot } from '../../src/data/release.js';
import { initEngine } from '../../src/engine/backend.js';
import { readManifest } from '../../src/protect/manifest.js';
import { protectDataset, type ProtectionInput } from '../../src/protect/protect-dataset.js';
import { readProtection } from '../../src/protect/protection.js';

const root = path.resolve(import.meta.dirname, '../..');
const model = path.join(root, 'assets/models/facemae-tiny');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-release-'));
const PROTECTIONS: Record<string, ProtectionInput> = {
  facemae: { method: 'facemae', strength: 0.75, model },
  blur: { method: 'blur', strength: 4 },
};

let data = '';
const runs: Record<string, string> = {};

beforeAll(async () => {
  await initEngine();
  // 2 identities × 3 images of the built-in sample
  data = path.join(tmp(), 'orig');
  const src = path.join(root, 'assets/sample/deploy');
  for (const id of fs.readdirSync(src).sort().slice(0, 2)) {
    fs.mkdirSync(path.join(data, id), { recursive: true });
    for (const f of fs.readdirSync(path.join(src, id)).sort().slice(0, 3))
      fs.copyFileSync(path.join(src, id, f), path.join(data, id, f));
  }
  for (const [name, p] of Object.entries(PROTECTIONS)) {
    runs[name] = path.join(tmp(), name);
    await protectDataset(data, p, runs[name]!, { seed: 5, batchSize: 2 });
  }
}, 120_000);

afterEach(() => vi.restoreAllMocks());

describe('one release layout', () => {
  it('FaceMAE and a baseline write images/, manifest.jsonl and config.json, read by one reader', async () => {
    for (const [name, out] of Object.entries(runs)) {
      const lines = [...readManifest(path.join(out, 'manifest.jsonl')).values()];
      expect(lines, name).toHaveLength(6);
      for (const l of lines) {
        expect(l.output).toMatch(/^images\/[^/]+\/[^/]+\.jpg$/);
        expect(fs.existsSync(path.join(out, l.output))).toBe(true);
        expect(l.seed).toBe(5);
      }
      expect('keep' in lines[0]!, name).toBe(name === 'facemae');
      // the run folder reads as its images, for every verb (listImageFolder is under all of them)
      expect(datasetRoot(out)).toBe(path.join(out, 'images'));
      expect((await listImageFolder(out)).records).toHaveLength(6);
      expect(readProtection(out)).toMatchObject({ method: name, strength: name === 'facemae' ? 0.75 : 4 });
    }
  });

  it('resumes either protection through the same path: finished images kept, the rest done, same bytes', async () => {
    for (const [name, p] of Object.entries(PROTECTIONS)) {
      const out = path.join(tmp(), name);
      await expect(
        protectDataset(data, p, out, {
          seed: 5,
          batchSize: 2,
          onProgress: (done) => {
            if (done === 2) throw new Error('killed');
          },
        }),
      ).rejects.toThrow('killed');
      expect(readManifest(path.join(out, 'manifest.jsonl')).size, name).toBe(2);
      await expect(protectDataset(data, p, out, { seed: 6, batchSize: 2, resume: true })).rejects.toThrow(
        /made with seed 5, not seed 6/,
      );
      const r = await protectDataset(data, p, out, { seed: 5, batchSize: 2, resume: true });
      expect(r, name).toMatchObject({ images: 6, written: 4, skipped: 2 });
      for (const l of readManifest(r.manifest).values())
        expect(
          fs.readFileSync(path.join(out, l.output)).equals(fs.readFileSync(path.join(runs[name]!, l.output))),
          l.output,
        ).toBe(true);
    }
    // a release is resumed only by its own protection
    await expect(
      protectDataset(data, PROTECTIONS.blur!, runs.facemae!, { seed: 5, resume: true }),
    ).rejects.toThrow(/cannot resume .*made with maskRatio 0\.75/);
  }, 120_000);

  it('privacy takes the run folder of reconstruct and of distort, and their images/', async () => {
    for (const protectedSet of [runs.facemae!, path.join(runs.facemae!, 'images'), runs.blur!]) {
      const printed: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((s) => (printed.push(String(s)), true));
      await buildProgram().exitOverride().parseAsync([
        'node',
        'facemae',
        '--json',
        '--quiet',
        'privacy',
        '--original',
        data,
        '--protected',
        protectedSet,
        '--attacker',
        'mobileface', // the shipped reconstructor's IRM teacher is faceplugin
      ]);
      vi.restoreAllMocks();
      const doc = JSON.parse(printed.join('')) as {
        protection: { method: string };
        attackers: Record<string, { numProbes: number }>;
      };
      expect(doc.attackers.mobileface!.numProbes, protectedSet).toBe(6);
      expect(doc.protection.method).toBe(protectedSet === runs.blur ? 'blur' : 'facemae');
    }
  }, 120_000);
});
