/** Settings that leave the faces as they were are refused unless --allow-no-protection (issue 27). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { createRng } from '../../src/core/rng.js';
import { readImage } from '../../src/data/image-folder.js';
import { reconstructDataset } from '../../src/protect/reconstruct-dataset.js';
import { initEngine } from '../../src/engine/backend.js';
import { distortDataset } from '../../src/protect/distort-dataset.js';
import { applyDistortion, noProtectionReason, type DistortionSpec } from '../../src/protect/distortions.js';

const root = path.resolve(import.meta.dirname, '../..');
const sample = path.join(root, 'assets/sample/deploy');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-noprot-'));
const cli = (...args: string[]) =>
  buildProgram()
    .exitOverride()
    .parseAsync(['node', 'facemae', '--quiet', ...args]);

/** One identity of the sample: a small dataset. */
const oneIdentity = () => {
  const d = path.join(tmp(), 'data');
  const id = fs.readdirSync(sample).sort()[0]!;
  fs.cpSync(path.join(sample, id), path.join(d, id), { recursive: true });
  return d;
};

describe('noProtectionReason', () => {
  it('names exactly the settings whose output is (nearly) the input', async () => {
    const img = await readImage(
      path.join(
        sample,
        fs.readdirSync(sample).sort()[0]!,
        fs.readdirSync(path.join(sample, fs.readdirSync(sample).sort()[0]!))[0]!,
      ),
    );
    const unchanged = (spec: DistortionSpec) => {
      const out = applyDistortion(img, spec, createRng(0));
      let same = 0;
      for (let i = 0; i < out.data.length; i++) if (out.data[i] === img.data[i]) same++;
      return same / out.data.length;
    };
    for (const spec of [
      { method: 'mask', strength: 0 },
      { method: 'blur', strength: 0 },
      { method: 'blur', strength: 0.25 },
      { method: 'pixelate', strength: 1 },
      { method: 'noise', strength: 0 },
      { method: 'noise', strength: 0.2 },
    ] as DistortionSpec[]) {
      expect(noProtectionReason(spec), JSON.stringify(spec)).toBeDefined();
      expect(unchanged(spec), JSON.stringify(spec)).toBeGreaterThan(0.95);
    }
    for (const spec of [
      { method: 'mask', strength: 0.1 },
      { method: 'blur', strength: 1 },
      { method: 'pixelate', strength: 2 },
      { method: 'noise', strength: 2 },
    ] as DistortionSpec[]) {
      expect(noProtectionReason(spec), JSON.stringify(spec)).toBeUndefined();
      expect(unchanged(spec), JSON.stringify(spec)).toBeLessThan(0.95);
    }
  });
});

describe('distort', () => {
  it('refuses mask ratio 0, blur/noise 0 and pixelate 1, writing nothing', async () => {
    const data = oneIdentity();
    for (const [method, strength] of [
      ['mask', 0],
      ['blur', 0],
      ['noise', 0],
      ['pixelate', 1],
    ] as const) {
      const out = path.join(tmp(), 'out');
      await expect(distortDataset({ method, strength, data, out, seed: 0 })).rejects.toThrow(
        new RegExp(`${method} with strength ${strength} protects nothing: .*--allow-no-protection`),
      );
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it('--mask-ratio 0 through the CLI is refused; --allow-no-protection writes it', async () => {
    const data = oneIdentity();
    const out = path.join(tmp(), 'out');
    await expect(cli('distort', '--data', data, '--out', out, '--strength', '0')).rejects.toThrow(
      /protects nothing/,
    );
    expect(fs.existsSync(out)).toBe(false);
    await cli('distort', '--data', data, '--out', out, '--strength', '0', '--allow-no-protection');
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(saved.config).toMatchObject({ strength: 0, allowNoProtection: true });
  });

  it("the config key allowNoProtection is the flag's equivalent", async () => {
    const data = oneIdentity();
    const dir = tmp();
    const f = path.join(dir, 'c.json');
    fs.writeFileSync(f, JSON.stringify({ method: 'noise', strength: 0, allowNoProtection: true }));
    await cli('distort', '--data', data, '--out', path.join(dir, 'out'), '--config', f);
    expect(fs.existsSync(path.join(dir, 'out', 'config.json'))).toBe(true);
  });
});

describe('reconstruct', () => {
  it('refuses a mask ratio that removes no patch, before --out is made', async () => {
    await initEngine();
    const data = oneIdentity();
    const out = path.join(tmp(), 'out');
    await expect(
      reconstructDataset({ model: path.join(root, 'assets/models/facemae-tiny'), data, out, maskRatio: 0 }),
    ).rejects.toThrow(/mask ratio 0 removes none of the patches.*--allow-no-protection/);
    expect(fs.existsSync(out)).toBe(false);
  }, 60_000);
});
