/**
 * The attacker suite on small real faces (the built-in sample: B = 24 identities × 4, A = 10 other
 * identities), with the bundled mobileface recognizer: each adaptive attacker must beat the frozen
 * one where the protection is reversible, and every attacker must find the originals themselves.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attack, type AttackOptions } from '../../src/attack/attack.js';
import { attackerFingerprint } from '../../src/attack/audit.js';
import { createEmbeddingCache } from '../../src/attack/embed.js';
import { createMaeInpainter, SHIPPED_MAE } from '../../src/attack/inpaint.js';
import { protectPublicSet } from '../../src/attack/public-set.js';
import { parseAttackerSuite } from '../../src/attack/suite.js';
import { listImageFolder } from '../../src/data/image-folder.js';
import { createEmbedder } from '../../src/loaders/embedders.js';
import { distortDataset } from '../../src/protect/distort-dataset.js';
import type { DistortionMethod } from '../../src/protect/distortions.js';
import { firstImagesPerIdentity, keyOf } from '../../src/protect/privacy-audit.js';
import type { Embedder } from '../../src/types.js';

const root = path.resolve(import.meta.dirname, '../..');
const B = path.join(root, 'assets/sample/deploy');
const A = path.join(root, 'assets/sample/train');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-suite-'));
let embedder: Embedder;

/** Protects B (the release) and A (the attacker's own copy, another seed), then runs the suite. */
async function run(method: DistortionMethod, strength: number, extra: Partial<AttackOptions> = {}) {
  const rel = path.join(work, `${method}-${strength}`);
  await distortDataset({ method, strength, data: B, out: rel, seed: 0 }, { resume: true });
  const records = (await listImageFolder(A)).records;
  const keys = firstImagesPerIdentity(records, 12);
  const files = records
    .filter((r) => keys.has(keyOf(r)))
    .map((r) => `${r.identity}/${path.basename(r.path)}`);
  const protection = { method, strength };
  const pa = await protectPublicSet({
    protection,
    data: A,
    out: path.join(work, `A-${method}-${strength}`),
    files,
    seed: 1,
  });
  return attack({
    original: B,
    protected: rel,
    protection,
    attackers: parseAttackerSuite('suite'),
    embedder: async () => embedder,
    fingerprint: attackerFingerprint,
    public: { original: A, protected: pa, keys },
    ...extra,
  });
}
const top1 = (r: Awaited<ReturnType<typeof run>>, a: string) => r.attackers[a]!.identityTopK.top1!;

beforeAll(async () => {
  embedder = await createEmbedder('mobileface');
});
afterAll(async () => {
  await embedder.dispose();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('the attacker suite', () => {
  it('breaks Gaussian noise that fools the frozen recognizer: the restoration chosen on A re-identifies nearly all', async () => {
    const r = await run('noise', 80);
    expect(top1(r, 'mobileface')).toBeLessThan(0.8);
    expect(top1(r, 'mobileface+reversal')).toBeGreaterThan(0.95);
    expect(top1(r, 'mobileface+reversal')).toBeGreaterThan(top1(r, 'mobileface') + 0.2);
    expect(r.attackers['mobileface+reversal']!.fitted!.reversal).not.toBe('none');
    expect(r.worst.identityTop1).toBe(
      Math.max(...Object.values(r.attackers).map((m) => m.identityTopK.top1!)),
    );
    expect(r.worst.ci95[0]).toBeLessThanOrEqual(r.worst.identityTop1);
  }, 120_000);

  it('on pixelation the adapted and pooled attackers beat the frozen one; pooling searches one label per identity', async () => {
    const r = await run('pixelate', 16);
    const frozen = top1(r, 'mobileface');
    expect(top1(r, 'mobileface+adaptation')).toBeGreaterThan(frozen + 0.1);
    expect(top1(r, 'mobileface+pooling')).toBeGreaterThan(frozen + 0.1);
    expect(r.attackers['mobileface+pooling']!.unit).toBe('label');
    expect(r.attackers['mobileface+pooling']!.numProbes).toBe(24);
    expect(r.attackers['mobileface']!.numProbes).toBe(96);
  }, 120_000);

  it('fills a masked release with the public FaceMAE (the data-processing check) and re-identifies far more', async () => {
    const inpainter = await createMaeInpainter(SHIPPED_MAE);
    try {
      const r = await run('mask', 0.75, { inpainter });
      expect(r.attackers['mobileface+reversal']!.fitted!.reversal).toBe('inpaint:facemae');
      expect(top1(r, 'mobileface+reversal')).toBeGreaterThan(top1(r, 'mobileface') + 0.2);
    } finally {
      inpainter.dispose();
    }
  }, 120_000);

  it('finds the originals themselves with every attacker (a control that the attackers work)', async () => {
    const pa = A;
    const r = await attack({
      original: B,
      protected: B,
      protection: { method: 'original', strength: 0 },
      attackers: parseAttackerSuite('suite'),
      embedder: async () => embedder,
      fingerprint: attackerFingerprint,
      public: {
        original: A,
        protected: pa,
        keys: firstImagesPerIdentity((await listImageFolder(A)).records, 4),
      },
    });
    for (const m of Object.values(r.attackers)) expect(m.identityTopK.top1).toBe(1);
  }, 120_000);

  it('embeds nothing twice with a cache: a re-run hits for every image and gives the same figures', async () => {
    const cache = createEmbeddingCache(path.join(work, 'cache'));
    const first = await run('blur', 4, { cache });
    const misses = cache.stats.misses;
    const again = createEmbeddingCache(path.join(work, 'cache'));
    const second = await run('blur', 4, { cache: again });
    expect(misses).toBeGreaterThan(0);
    expect(again.stats.misses).toBe(0);
    expect(second.attackers).toEqual(first.attackers);
  }, 120_000);

  it('refuses the fitted attackers without a public set or a protection, naming what to pass', async () => {
    const base = {
      original: B,
      protected: B,
      embedder: async () => embedder,
      fingerprint: attackerFingerprint,
    };
    await expect(attack({ ...base, attackers: parseAttackerSuite('mobileface+reversal') })).rejects.toThrow(
      /--public/,
    );
    await expect(
      attack({
        ...base,
        attackers: parseAttackerSuite('mobileface+pooling'),
        public: { original: A, protected: A },
      }),
    ).rejects.toThrow(/--protection/);
    await expect(attack({ ...base, attackers: parseAttackerSuite('mobileface+parrot') })).rejects.toThrow(
      /no fine-tuned parrot/,
    );
  }, 60_000);
});
