/**
 * Masked-patch MSE of a trained MAE on held-out faces vs trivial predictors; with TEACHER (e.g.
 * faceplugin) also the relation (IRM) and identity figures of its reconstructions.
 * Usage: tsx scripts/eval-mae-loss.ts RUN_DIR IMAGE_FOLDER [N=500] [SEED=0] [TEACHER]
 * (e.g. IMAGE_FOLDER = a validation split of the public pool A, never the deployment set or LFW)
 */
import { createRng } from '../src/core/rng.js';
import { listImageFolder } from '../src/data/image-folder.js';
import { loadMaeRun } from '../src/deploy/load-mae.js';
import { evaluateMaskedLoss } from '../src/train/eval-mae.js';
import { loadFaceNet } from '../src/loaders/face-net.js';

const [run, folder, nArg, seedArg, teacherSpec] = process.argv.slice(2);
if (!run || !folder) {
  process.stderr.write(
    'usage: tsx scripts/eval-mae-loss.ts RUN_DIR IMAGE_FOLDER [N=500] [SEED=0] [TEACHER]\n',
  );
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
const teacher = teacherSpec ? await loadFaceNet(teacherSpec) : undefined;
const r = await evaluateMaskedLoss(loaded.mae, sample, { maskRatio: loaded.maskRatio, seed, teacher });
teacher?.dispose();
process.stdout.write(JSON.stringify({ run, step: loaded.step, folder, ...r }, null, 2) + '\n');
loaded.mae.dispose();
