import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { openFaceSource } from '../../src/data/source.js';
import { resumableBatches } from '../../src/train/resumable.js';
import { makeDataset } from '../mae/helpers.js';

let data = '';
beforeAll(async () => {
  await initEngine();
  data = await makeDataset(); // 3 identities × 4 images, 32 px
});
afterAll(() => fs.rmSync(data, { recursive: true, force: true }));

it('says "resizing images" once per run, not once per epoch', async () => {
  const source = await openFaceSource(data);
  const warnings: string[] = [];
  let steps = 0;
  try {
    // 12 images, batch 4: 3 steps an epoch, so 9 steps read 3 epochs, each at 16 px (resized)
    for await (const b of resumableBatches(source, {
      seed: 0,
      startStep: 0,
      perEpoch: 3,
      totalSteps: 9,
      batchSize: 4,
      size: 16,
      flip: false,
      onWarning: (m) => warnings.push(m),
    })) {
      expect(b.images.shape).toEqual([4, 16, 16, 3]);
      b.images.dispose();
      steps++;
    }
  } finally {
    await source.close();
  }
  expect(steps).toBe(9);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/resizing images to 16×16/);
});
