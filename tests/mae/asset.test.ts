import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listImageFolder } from '../../src/data/image-folder.js';
import { loadMaeRun } from '../../src/deploy/load-mae.js';
import { evaluateMaskedLoss } from '../../src/train/eval-mae.js';

const root = path.resolve(import.meta.dirname, '../..');
const asset = path.join(root, 'assets/models/facemae-tiny');

describe('the shipped trained reconstructor (assets/models/facemae-tiny)', () => {
  // The model is committed to the repository: a missing file is a failure, never a skip.
  it('is in the repository', () => {
    expect(fs.existsSync(path.join(asset, 'checkpoint.json'))).toBe(true);
  });

  it('loads and beats the trivial predictors on the unseen-identity sample faces', async () => {
    const loaded = await loadMaeRun(asset);
    expect(loaded.config.imageSize).toBe(112);
    const { records } = await listImageFolder(path.join(root, 'assets/sample/deploy'));
    const r = await evaluateMaskedLoss(loaded.mae, records.slice(0, 32), { maskRatio: 0.75 });
    expect(r.mae).toBeLessThan(0.8 * Math.min(r.visibleMean, r.positionMean));
    loaded.mae.dispose();
  });
});
