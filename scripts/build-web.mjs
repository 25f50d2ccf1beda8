#!/usr/bin/env node
/**
 * Builds the in-browser app (web/) into dist/web, models included, so `npx facemae web` and any
 * static host serve it as is. Runs after tsc in `npm run build`: it exports the bundled MAE
 * (assets/models/facemae-tiny) with the built library, as `facemae export --onnx --keep-input --onnx-int8` does
 * (its weights are int8 already, so the int8 graph computes the same numbers at a quarter of the size),
 * and copies the faceplugin detector and landmarks. Nothing is fetched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'vite';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist/web');
const modelDir = path.join(root, 'assets/models/facemae-tiny');
const t0 = Date.now();

await build({ configFile: path.join(root, 'web/vite.config.ts') });

const { initEngine } = await import(path.join(root, 'dist/engine/backend.js'));
const { loadMaeRun } = await import(path.join(root, 'dist/deploy/load-mae.js'));
const { exportMaeOnnx } = await import(path.join(root, 'dist/export/onnx-mae.js'));
await initEngine();
const models = path.join(out, 'models');
fs.mkdirSync(models, { recursive: true });
const loaded = await loadMaeRun(modelDir);
try {
  await exportMaeOnnx(loaded.mae, loaded.maskRatio, path.join(models, 'facemae.onnx'), {
    keepInput: true,
    int8: true,
  });
  const c = loaded.config;
  const info = {
    imageSize: c.imageSize,
    patchSize: c.patchSize,
    numPatches: loaded.mae.numPatches,
    maskRatio: loaded.maskRatio,
    source: `assets/models/facemae-tiny, step ${loaded.step}`,
  };
  fs.writeFileSync(path.join(models, 'facemae.json'), JSON.stringify(info, null, 2) + '\n');
} finally {
  loaded.mae.dispose();
}
for (const f of ['fr_detect.onnx', 'fr_landmark.onnx', 'LICENSE'])
  fs.copyFileSync(
    path.join(root, 'assets/models/faceplugin', f),
    path.join(models, f === 'LICENSE' ? 'faceplugin-LICENSE' : f),
  );
console.error(`web app built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${path.relative(root, out)}`);
