/**
 * Masked-patch MSE of a trained MAE on held-out faces vs trivial predictors.
 * Usage: tsx scripts/eval-mae-loss.ts RUN_DIR IMAGE_FOLDER [N=500] [SEED=0]
 * (e.g. RUN_DIR=runs/mae-tiny-glint IMAGE_FOLDER=../shared/data/lfw-aligned-112/images)
 */
import { createRng } from '../src/core/rng.js';
import { listImageFolder } from '../src/data/image-folder.js';
import { loadMaeRun } from '../src/deploy/load-mae.js';
import { evaluateMaskedLoss } from '../src/train/eval-mae.js';

const [run, folder, nArg, seedArg] = process.argv.slice(2);
if (!run || !folder) {
  process.stderr.write('usage: tsx scripts/eval-mae-loss.ts RUN_DIR IMAGE_FOLDER [N=500] [SEED=0]\n');
  process.exit(2);
}
const n = Number(nArg ?? 500);
const seed = Number(seedArg ?? 0);
const { records } = await listImageFolder(folder);
const sample = createRng(seed)
  .fork('eval-sample')
  .shuffle([...records])
  .slice(0, n);
const loaded = await loadMaeRun(run);
const r = await evaluateMaskedLoss(loaded.mae, sample, { maskRatio: loaded.maskRatio, seed });
process.stdout.write(JSON.stringify({ run, step: loaded.step, folder, ...r }, null, 2) + '\n');
loaded.mae.dispose();
