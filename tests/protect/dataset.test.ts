import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { distortDataset } from '../../src/protect/distort-dataset.js';
import { readManifest } from '../../src/protect/manifest.js';
import { packImageFolder } from '../../src/data/recordio.js';
import {
  checkAttackerIndependence,
  FACEPLUGIN_ONNX,
  findIrmTeacher,
} from '../../src/protect/privacy-audit.js';
import { attack } from '../../src/attack/attack.js';
import { parseAttackerSuite } from '../../src/attack/suite.js';
import type { Embedder } from '../../src/types.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-protect-'));

/** A stand-in attacker: the mean-centred 16×16 pixels (enough to re-identify lightly distorted copies). */
const pixelEmbedder: Embedder = {
  name: 'pixels16',
  embeddingDim: 16 * 16 * 3,
  inputSize: 16,
  async embed(images, n) {
    const d = 16 * 16 * 3;
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let j = 0; j < d; j++) m += images[i * d + j]!;
      m /= d;
      for (let j = 0; j < d; j++) out[i * d + j] = images[i * d + j]! - m;
    }
    return out;
  },
  dispose() {},
};

/** The one attack with a single frozen attacker, as `facemae privacy --attacker X` runs it. */
const frozenAttack = async (original: string, prot: string) =>
  (
    await attack({
      original,
      protected: prot,
      attackers: parseAttackerSuite('pixels16'),
      embedder: async () => pixelEmbedder,
      fingerprint: () => 'pixels16',
    })
  ).attackers.pixels16!;

let data = '';
beforeAll(() => {
  // 6 identities × 4 images from the built-in sample.
  data = path.join(tmp(), 'orig');
  const src = path.join(root, 'assets/sample/deploy');
  for (const id of fs.readdirSync(src).sort().slice(0, 6))
    fs.cpSync(path.join(src, id), path.join(data, id), { recursive: true });
});

describe('distortDataset', () => {
  it('writes the release layout, saves its config, is seeded, and resumes from its manifest', async () => {
    const out = path.join(tmp(), 'noise');
    const cfg = { method: 'noise' as const, strength: 20, data, out, seed: 3 };
    const r1 = await distortDataset(cfg);
    expect(r1).toMatchObject({ images: 24, written: 24, skipped: 0, identities: 6 });
    const files = fs
      .readdirSync(data)
      .flatMap((id) => fs.readdirSync(path.join(data, id)).map((f) => `${id}/${f}`));
    for (const f of files) expect(fs.existsSync(path.join(out, 'images', f))).toBe(true);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(saved.command).toBe('distort');
    expect(saved.config).toMatchObject({ method: 'noise', strength: 20, seed: 3 });
    const manifest = fs.readFileSync(r1.manifest, 'utf8').trim().split('\n');
    expect(manifest).toHaveLength(24);
    expect(JSON.parse(manifest[5]!)).toEqual({
      source: path.join(data, files[5]!),
      output: `images/${files[5]}`,
      identity: files[5]!.split('/')[0],
      seed: 3,
      method: 'noise',
      strength: 20,
    });

    // Simulate a kill after 22 images: their lines are in, the last two (one torn) are not; resume
    // writes exactly those, byte-identical (per-image seeds).
    const victim = path.join(out, 'images', files[23]!);
    const before = fs.readFileSync(victim);
    fs.rmSync(victim);
    fs.writeFileSync(r1.manifest, manifest.slice(0, 22).join('\n') + '\n' + manifest[22]!.slice(0, 20));
    const r2 = await distortDataset(cfg, { resume: true });
    expect(r2).toMatchObject({ written: 2, skipped: 22 });
    expect(fs.readFileSync(victim).equals(before)).toBe(true);
    // the torn line stays alone on its line: every image has a whole line
    const after = fs.readFileSync(r1.manifest, 'utf8').trim().split('\n');
    expect(after).toHaveLength(25);
    expect(after[22]).toBe(manifest[22]!.slice(0, 20));
    expect(new Set([...readManifest(r1.manifest).keys()])).toEqual(
      new Set(files.map((f) => path.join(data, f))),
    );

    await expect(distortDataset(cfg)).rejects.toThrow(/not empty: pass --resume/);
    await expect(distortDataset({ ...cfg, strength: 5 }, { resume: true })).rejects.toThrow(
      /cannot resume .*made with strength 20, not strength 5/,
    );
  });

  it('an output of the earlier layout (<identity>/<file> in OUT) still reads, and is not resumed into images/', async () => {
    const out = path.join(tmp(), 'old');
    await distortDataset({ method: 'blur', strength: 1, data, out: path.join(tmp(), 'x'), seed: 0 });
    fs.cpSync(data, out, { recursive: true });
    fs.writeFileSync(
      path.join(out, 'config.json'),
      JSON.stringify({
        command: 'distort',
        createdAt: 'then',
        config: { method: 'blur', strength: 1, seed: 0 },
      }),
    );
    expect((await frozenAttack(data, out)).numProbes).toBe(24);
    await expect(
      distortDataset({ method: 'blur', strength: 1, data, out, seed: 0 }, { resume: true }),
    ).rejects.toThrow(/earlier layout .*another --out/);
  });

  it('refuses a bad strength before touching the output', async () => {
    const out = path.join(tmp(), 'bad');
    await expect(distortDataset({ method: 'mask', strength: 2, data, out, seed: 0 })).rejects.toThrow(
      /mask ratio/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('the attack with one frozen attacker', () => {
  it('distorts and attacks an insightface .rec like the folder it was packed from', async () => {
    const rec = path.join(tmp(), 'train');
    await packImageFolder(data, rec);
    const light = path.join(tmp(), 'light-rec');
    const r = await distortDataset({ method: 'blur', strength: 1, data: `${rec}.rec`, out: light, seed: 0 });
    expect(r.images).toBe(24);
    // .rec records are written as images/<identity>/<index>.jpg
    expect(fs.readdirSync(path.join(light, 'images'))).toHaveLength(6);
    // the run folder is read as its images
    const a = await frozenAttack(`${rec}.rec`, light);
    expect(a.numProbes).toBe(24);
    expect(a.instanceTop1).toBeGreaterThan(0.9);
  });

  it('re-identifies lightly blurred copies and much less of heavily pixelated ones', async () => {
    const light = path.join(tmp(), 'light');
    const heavy = path.join(tmp(), 'heavy');
    await distortDataset({ method: 'blur', strength: 1, data, out: light, seed: 0 });
    await distortDataset({ method: 'pixelate', strength: 56, data, out: heavy, seed: 0 });
    const a = await frozenAttack(data, light);
    expect(a.numProbes).toBe(24);
    expect(a.numIdentities).toBe(6);
    expect(a.instanceTop1).toBeGreaterThan(0.9);
    expect(a.identityTopK.top1).toBeGreaterThan(0.9);
    expect(a.meanCosineToSource).toBeGreaterThan(0.95);
    const b = await frozenAttack(data, heavy);
    expect(b.meanCosineToSource).toBeLessThan(a.meanCosineToSource);
    expect(b.instanceTop1).toBeLessThan(a.instanceTop1);
    expect(b.chance.instanceTop1).toBeCloseTo(1 / 24);
  });

  it('names protected images without a source', async () => {
    const prot = path.join(tmp(), 'stray');
    fs.mkdirSync(path.join(prot, 'Nobody'), { recursive: true });
    const first = fs.readdirSync(data)[0]!;
    const file = fs.readdirSync(path.join(data, first))[0]!;
    fs.copyFileSync(path.join(data, first, file), path.join(prot, 'Nobody', 'x.jpg'));
    await expect(frozenAttack(data, prot)).rejects.toThrow(
      /1 protected image\(s\) have no original .*Nobody[\\/]x\.jpg/,
    );
  });
});

describe('attacker independence', () => {
  it('refuses the IRM teacher as attacker, also under another name for the same file', () => {
    expect(() => checkAttackerIndependence('faceplugin', FACEPLUGIN_ONNX)).toThrow(
      /is the IRM teacher .*allowSameAttacker/,
    );
    const warnings: string[] = [];
    const r = checkAttackerIndependence('faceplugin', 'faceplugin', {
      allowSame: true,
      onWarning: (m) => warnings.push(m),
    });
    expect(r.same).toBe(true);
    expect(warnings[0]).toMatch(/^!!! the attacker/);
    const other = path.join(tmp(), 'other.onnx');
    fs.writeFileSync(other, 'not the same bytes');
    expect(checkAttackerIndependence('faceplugin', other).same).toBe(false);
  });

  it("finds the teacher in a reconstruction's config chain", () => {
    const run = tmp();
    const rec = tmp();
    fs.writeFileSync(
      path.join(run, 'config.json'),
      JSON.stringify({ config: { irm: { teacher: 'faceplugin', weight: 1 } } }),
    );
    fs.writeFileSync(
      path.join(rec, 'config.json'),
      JSON.stringify({ config: { checkpoint: run, maskRatio: 0.75 } }),
    );
    expect(findIrmTeacher(rec)).toBe('faceplugin');
    expect(findIrmTeacher(tmp())).toBeUndefined();
  });
});
