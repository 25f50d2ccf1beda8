import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/rng.js';
import { listImageFolder, readImage, writeImage } from '../../src/data/image-folder.js';
import { createLoader, imagesToTensor, tensorToImages } from '../../src/data/loader.js';
import { initEngine, tf } from '../../src/engine/backend.js';
import type { FaceRecord } from '../../src/types.js';
import { makeToyFolder, patternImage, tmpDir } from './helpers.js';

describe('loader', () => {
  let records: FaceRecord[];
  beforeAll(async () => {
    await initEngine();
    const root = await makeToyFolder(path.join(tmpDir(), 'set'), { ids: 3, perId: 5, size: 8 });
    records = (await listImageFolder(root)).records;
  });

  it('yields [N,S,S,3] float32 batches in [0,1] with labels, in order without shuffle', async () => {
    const loader = createLoader({ records, batchSize: 4, size: 8 });
    expect(loader.length).toBe(4);
    const seen: FaceRecord[] = [];
    const sizes: number[] = [];
    for await (const b of loader.epoch()) {
      expect(b.images.dtype).toBe('float32');
      expect(b.images.shape.slice(1)).toEqual([8, 8, 3]);
      expect(Array.from(b.labels)).toEqual(b.records.map((r) => r.label));
      sizes.push(b.images.shape[0]);
      if (seen.length === 0) {
        const first = await readImage(records[0]!.path);
        const one = tf.slice(b.images, [0, 0, 0, 0], [1, 8, 8, 3]);
        const px = (await one.data()) as Float32Array;
        one.dispose();
        expect(Array.from(px, (v) => Math.round(v * 255))).toEqual(Array.from(first.data));
        expect(Math.max(...px)).toBeLessThanOrEqual(1);
      }
      seen.push(...b.records);
      b.images.dispose();
    }
    expect(sizes).toEqual([4, 4, 4, 3]);
    expect(seen).toEqual(records);
    const dropped = createLoader({ records, batchSize: 4, size: 8, dropLast: true });
    expect([dropped.length, dropped.numImages]).toEqual([3, 12]);
  });

  it('shuffles reproducibly with a seeded rng, differently each epoch, covering every image once', async () => {
    const order = async (seed: number, epochs: number) => {
      const loader = createLoader({ records, batchSize: 6, size: 8, shuffle: true, rng: createRng(seed) });
      const out: string[][] = [];
      for (let e = 0; e < epochs; e++) {
        const paths: string[] = [];
        for await (const b of loader.epoch()) {
          paths.push(...b.records.map((r) => r.path));
          b.images.dispose();
        }
        out.push(paths);
      }
      return out;
    };
    const a = await order(1, 2);
    const b = await order(1, 2);
    expect(a).toEqual(b);
    expect(a[0]).not.toEqual(a[1]);
    expect([...a[0]!].sort()).toEqual(records.map((r) => r.path).sort());
    expect(a[0]).not.toEqual(records.map((r) => r.path));
    expect((await order(2, 1))[0]).not.toEqual(a[0]);
  });

  it('flips about half the images, and flipped pixels are the mirror', async () => {
    const loader = createLoader({ records, batchSize: 15, size: 8, flip: true, rng: createRng(3) });
    let flipped = 0;
    for await (const b of loader.epoch()) {
      const imgs = await tensorToImages(b.images);
      b.images.dispose();
      for (let k = 0; k < imgs.length; k++) {
        const orig = await readImage(b.records[k]!.path);
        const same = Buffer.from(imgs[k]!.data).equals(Buffer.from(orig.data));
        if (!same) {
          flipped++;
          // pixel (0,0) of the flip is pixel (0,7) of the original
          expect(Array.from(imgs[k]!.data.slice(0, 3))).toEqual(Array.from(orig.data.slice(7 * 3, 8 * 3)));
        }
      }
    }
    expect(flipped).toBeGreaterThan(2);
    expect(flipped).toBeLessThan(13);
  });

  it('keeps memory bounded: decodes at most prefetch+1 batches ahead of the consumer', async () => {
    let reads = 0;
    const base = createLoader({ records, batchSize: 2, size: 8 });
    expect(base.length).toBe(8);
    const source = {
      name: 'counting',
      length: records.length,
      identities: ['id0', 'id1', 'id2'],
      record: (i: number) => records[i]!,
      read: async (i: number) => {
        reads++;
        return readImage(records[i]!.path);
      },
      close: async () => {},
    };
    const loader = createLoader({ source, batchSize: 2, size: 8, prefetch: 1 });
    const it = loader.epoch()[Symbol.asyncIterator]();
    const first = await it.next();
    (first.value as { images: tf.Tensor }).images.dispose();
    await new Promise((r) => setTimeout(r, 50));
    expect(reads).toBeLessThanOrEqual(2 * 2 + 2); // batch 0, the prefetched batch 1, at most batch 2 started
    await it.return?.(undefined);
  });

  it('resizes wrong-sized images with one warning, or refuses them', async () => {
    const root = path.join(tmpDir(), 'mixed');
    await writeImage(path.join(root, 'a', '0.png'), patternImage(1, 12));
    await writeImage(path.join(root, 'a', '1.png'), patternImage(2, 10));
    await writeImage(path.join(root, 'b', '0.png'), patternImage(3, 8));
    const recs = (await listImageFolder(root)).records;
    const warnings: string[] = [];
    const loader = createLoader({
      records: recs,
      batchSize: 3,
      size: 8,
      onWarning: (m) => warnings.push(m),
      concurrency: 1,
    });
    for await (const b of loader.epoch()) {
      expect(b.images.shape).toEqual([3, 8, 8, 3]);
      b.images.dispose();
    }
    expect(warnings).toEqual([`resizing images to 8×8 (first: ${path.join(root, 'a', '0.png')}, 12×12)`]);
    const strict = createLoader({ records: recs, batchSize: 3, size: 8, onWrongSize: 'error' });
    await expect(async () => {
      for await (const b of strict.epoch()) b.images.dispose();
    }).rejects.toThrow(/is 1[02]×1[02], expected 8×8: align\/crop it first/);
  });

  it('surfaces a corrupt image in the middle of an epoch, naming it', async () => {
    const root = await makeToyFolder(path.join(tmpDir(), 'bad'), { ids: 2, perId: 2, size: 8 });
    const bad = path.join(root, 'id1', '0.png');
    fs.writeFileSync(bad, 'garbage');
    const loader = createLoader({ records: (await listImageFolder(root)).records, batchSize: 2, size: 8 });
    await expect(async () => {
      for await (const b of loader.epoch()) b.images.dispose();
    }).rejects.toThrow(`cannot decode image ${bad}:`);
  });

  it('refuses bad options and leaks no tensors', async () => {
    expect(() => createLoader({ records, batchSize: 0, size: 8 })).toThrow(
      'batchSize must be a positive integer, got 0',
    );
    expect(() => createLoader({ records, batchSize: 2, size: 8, shuffle: true })).toThrow(
      'createLoader: shuffle/flip need an rng (createRng(seed))',
    );
    expect(() => createLoader({ records: [], batchSize: 2, size: 8 })).toThrow(
      'no images to load in records',
    );
    const before = tf.memory().numTensors;
    const loader = createLoader({ records, batchSize: 4, size: 8 });
    for await (const b of loader.epoch()) b.images.dispose();
    const t = imagesToTensor([patternImage(1, 4), patternImage(2, 4)]);
    expect(t.shape).toEqual([2, 4, 4, 3]);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
