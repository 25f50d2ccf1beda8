import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openFaceSelection, openFaceSource } from '../../src/data/source.js';
import { planShards, type ReconstructTask } from '../../src/queue/shards.js';

const root = path.resolve(import.meta.dirname, '../..');
const rec = path.join(root, 'tests/fixtures/rec/train.rec');
const sample = path.join(root, 'assets/sample/deploy');
const task = (data: string, batchSize = 2): ReconstructTask => ({
  kind: 'reconstruct',
  model: 'unused',
  data,
  seed: 0,
  batchSize,
  quality: 95,
});

describe('planShards', () => {
  it('splits a .rec into index ranges that cover it once, in order', async () => {
    const whole = await openFaceSource(rec);
    const { total, shards } = await planShards(task(rec), 2);
    expect(total).toBe(whole.length);
    expect(shards.map((s) => s.select)).toEqual(
      Array.from({ length: Math.ceil(total / 2) }, (_, i) => ({
        start: 2 * i,
        end: Math.min(total, 2 * i + 2),
      })),
    );
    // a range shard reads the same records as the whole source
    const part = await openFaceSelection(rec, shards[1]!.select);
    expect(part.record(0).path).toBe(whole.record(2).path);
    await part.close();
    await whole.close();
  });

  it('lists folder shards as <identity>/<image> paths in listing order, resolvable without listing', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-shards-'));
    for (const id of ['Anna_Kournikova', 'Ben_Affleck'])
      fs.cpSync(path.join(sample, id), path.join(tmp, id), { recursive: true });
    const { total, shards } = await planShards(task(tmp), 4);
    expect(total).toBe(8);
    expect(shards).toHaveLength(2);
    const files = shards.flatMap((s) => ('files' in s.select ? s.select.files : []));
    expect(files[0]).toBe('Anna_Kournikova/Anna_Kournikova_0002.jpg');
    expect(files[7]).toBe('Ben_Affleck/Ben_Affleck_0005.jpg');
    const src = await openFaceSelection(tmp, shards[1]!.select);
    expect(src.record(0)).toMatchObject({
      identity: 'Ben_Affleck',
      path: path.join(tmp, 'Ben_Affleck', 'Ben_Affleck_0002.jpg'),
    });
    await expect(openFaceSelection(tmp, { files: ['../etc/passwd'] })).rejects.toThrow(
      /not an <identity>\/<image> path/,
    );
  });

  it('refuses a shard size that would cut batches differently from the single-process run', async () => {
    await expect(planShards(task(rec, 4), 6)).rejects.toThrow(
      /not a multiple of --batch-size 4.*use --shard-size 8/,
    );
  });
});
