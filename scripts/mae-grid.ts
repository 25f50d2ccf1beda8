/**
 * Grid PNG of a trained MAE on any faces: rows original | masked | reconstruction.
 * Usage: tsx scripts/mae-grid.ts RUN_DIR IMAGE_FOLDER OUT.png [N=8] [SEED=0]
 */
import { createRng } from '../src/core/rng.js';
import { listImageFolder } from '../src/data/image-folder.js';
import { createLoader } from '../src/data/loader.js';
import { loadMaeRun } from '../src/deploy/load-mae.js';
import { randomMasking } from '../src/models/mae/masking.js';
import { writeSampleGrid } from '../src/train/pretrain-mae.js';

const [run, folder, out, nArg, seedArg] = process.argv.slice(2);
if (!run || !folder || !out) {
  process.stderr.write('usage: tsx scripts/mae-grid.ts RUN_DIR IMAGE_FOLDER OUT.png [N=8] [SEED=0]\n');
  process.exit(2);
}
const n = Number(nArg ?? 8);
const seed = Number(seedArg ?? 0);
const { records } = await listImageFolder(folder);
const picked = createRng(seed)
  .fork('grid-sample')
  .shuffle([...records])
  .slice(0, n);
const loaded = await loadMaeRun(run);
const loader = createLoader({ records: picked, batchSize: picked.length, size: loaded.config.imageSize });
for await (const b of loader.epoch()) {
  const m = randomMasking(
    b.images.shape[0],
    loaded.mae.numPatches,
    loaded.maskRatio,
    createRng(seed).fork('grid-mask'),
  );
  await writeSampleGrid(out, loaded.mae, b.images, m);
  b.images.dispose();
}
loaded.mae.dispose();
process.stdout.write(`wrote ${out}\n`);
