import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEmbedder } from '../../src/loaders/embedders.js';
import { embedImages, normalizeRowsInPlace, packImages } from '../../src/eval/embed.js';
import { evaluateVerification } from '../../src/eval/verification.js';
import { readVerificationSet } from '../../src/data/verification-set.js';
import { subsamplePairs } from '../../src/loaders/verify-model.js';
import type { Embedder } from '../../src/types.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('embedders and flip TTA', () => {
  it('packImages mirrors rows for the flipped copy; rows are L2-normalised', () => {
    const img = { width: 2, height: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    // A 2×2 image (2 rows) flips each row independently.
    const sq = { width: 2, height: 2, data: Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]) };
    expect(Array.from(packImages([sq], 2, true))).toEqual([2, 2, 2, 1, 1, 1, 4, 4, 4, 3, 3, 3]);
    const m = normalizeRowsInPlace(Float32Array.from([3, 4, 0, 0]), 2);
    expect(Array.from(m)).toEqual([0.6, 0.8, 0, 0].map((v) => expect.closeTo(v, 6)));
    expect(() => packImages([img], 4)).toThrow(/image 0 is 2×1, the model needs 4×4/);
  });

  it('embedding = normalise(f(x) + f(flip x)), as insightface', async () => {
    // A fake embedder whose output is the mean of the first pixel row: flipping changes it.
    const fake: Embedder = {
      name: 'fake',
      embeddingDim: 2,
      inputSize: 2,
      embed: async (px, n) =>
        Float32Array.from({ length: 2 * n }, (_, k) => px[Math.floor(k / 2) * 12 + (k % 2) * 3] as number),
      dispose: () => undefined,
    };
    const img = { width: 2, height: 2, data: Uint8Array.from([10, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0]) };
    const e = await embedImages(fake, [img], { flip: true });
    // f(x) = (10, 20), f(flip x) = (20, 10): sum (30, 30) -> (1/√2, 1/√2).
    expect(Array.from(e)).toEqual([Math.SQRT1_2, Math.SQRT1_2].map((v) => expect.closeTo(v, 6)));
    const noFlip = await embedImages(fake, [img], { flip: false });
    expect(noFlip[0]).toBeCloseTo(10 / Math.sqrt(500), 6);
  });

  it('faceplugin through onnxruntime verifies sample LFW pairs; the channel order option changes the input', async () => {
    const set = subsamplePairs(
      await readVerificationSet(`lfw:${path.join(root, 'assets/sample/verify')}`),
      40,
    );
    const emb = await createEmbedder('faceplugin');
    expect(emb.embeddingDim).toBe(512);
    const r = await evaluateVerification(emb, set);
    expect(r.pairs).toBe(40);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(r.roc.auc).toBeGreaterThan(0.95);
    const px = packImages(set.images.slice(0, 2), 112);
    const bgr = await emb.embed(px, 2);
    await emb.dispose();
    const rgb = await createEmbedder('faceplugin', { input: { channelOrder: 'rgb' } });
    const other = await rgb.embed(px, 2);
    await rgb.dispose();
    expect(Array.from(other.subarray(0, 8))).not.toEqual(Array.from(bgr.subarray(0, 8)));
  });

  it('names the bad model spec', async () => {
    await expect(createEmbedder('no/such/model')).rejects.toThrow(/unknown model "no\/such\/model"/);
    await expect(createEmbedder('missing.onnx')).rejects.toThrow(/model file not found: missing\.onnx/);
  });
});
