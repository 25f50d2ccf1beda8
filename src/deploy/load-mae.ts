/**
 * Loads a trained MAE from a run folder written by trainMae (or a compact exported checkpoint,
 * e.g. assets/models/facemae-tiny): model config from the checkpoint metadata, weights by name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRng } from '../core/rng.js';
import { FaceMaeError } from '../core/errors.js';
import { initEngine } from '../engine/backend.js';
import { maeProvenance, type Provenance } from '../loaders/provenance.js';
import { createMae, type Mae } from '../models/mae/mae.js';
import { resolveMaeConfig, type MaeConfig } from '../models/mae/config.js';
import {
  assignWeights,
  disposeCheckpoint,
  loadCheckpoint,
  readCheckpointInfo,
  readRunInfo,
  saveCheckpoint,
} from '../data/checkpoint.js';

export interface LoadedMae {
  mae: Mae;
  config: MaeConfig;
  /** Training step of the checkpoint. */
  step: number;
  /** Mask ratio the model was trained with (default for deployment). */
  maskRatio: number;
  /** Seed of the training run. */
  seed: number | null;
  /** Where the weights come from, by content (recorded with every protected output). */
  provenance: Provenance;
}

/** dir: a run folder (or a folder holding checkpoint.json). */
export async function loadMaeRun(dir: string): Promise<LoadedMae> {
  await initEngine();
  const info = readRunInfo(dir, 'facemae-mae');
  const meta = info.meta as { model: MaeConfig };
  const config = resolveMaeConfig({ ...meta.model, preset: null });
  const train = (info.config ?? {}) as { maskRatio?: number; seed?: number };
  const mae = createMae(config, createRng(0));
  const ck = loadCheckpoint(dir);
  try {
    assignWeights(mae.variables, ck.weights, path.join(dir, 'checkpoint.json'));
  } catch (e) {
    mae.dispose();
    throw e;
  } finally {
    disposeCheckpoint(ck);
  }
  return {
    mae,
    config,
    step: info.step,
    maskRatio: train.maskRatio ?? 0.75,
    seed: train.seed ?? null,
    provenance: maeProvenance(dir),
  };
}

/**
 * A compact export never lands in a training run (it would replace the resumable checkpoint with
 * weights only), and replaces an earlier export only with `overwrite`.
 */
function checkCompactTarget(runDir: string, outDir: string, overwrite?: boolean): void {
  if (path.resolve(runDir) === path.resolve(outDir)) {
    throw new FaceMaeError(
      `--compact ${outDir} is the run being exported: choose another folder (the run's checkpoint must stay)`,
      'E_OUT_EXISTS',
    );
  }
  if (!fs.existsSync(outDir) || fs.readdirSync(outDir).length === 0) return;
  const training =
    fs.existsSync(path.join(outDir, 'log.jsonl')) ||
    (fs.existsSync(path.join(outDir, 'checkpoint.json')) &&
      readCheckpointInfo(outDir).optimizer !== undefined);
  if (training) {
    throw new FaceMaeError(
      `--compact ${outDir} holds a training run (its checkpoint has optimizer state): a compact export would replace it; choose another folder`,
      'E_OUT_EXISTS',
    );
  }
  if (!overwrite) {
    throw new FaceMaeError(
      `--compact ${outDir} is not empty: pass --overwrite to replace the export there, or choose another folder`,
      'E_OUT_EXISTS',
    );
  }
}

/** Writes a compact weights-only copy of a run (float16 by default, or int8 with per-channel scales) for shipping, e.g. in assets/. */
export async function exportCompactMae(
  runDir: string,
  outDir: string,
  opts: { half?: boolean; int8?: boolean; overwrite?: boolean } = {},
): Promise<string> {
  checkCompactTarget(runDir, outDir, opts.overwrite);
  const loaded = await loadMaeRun(runDir);
  try {
    return await saveCheckpoint(
      outDir,
      {
        step: loaded.step,
        weights: loaded.mae.variables,
        config: { maskRatio: loaded.maskRatio, seed: loaded.seed },
        meta: {
          model: loaded.config,
          kind: 'facemae-mae',
          source: path.resolve(runDir),
          // the teacher travels with the weights, so privacy still recognises it from a compact copy
          irm: loaded.provenance.irmTeacher !== null,
          irmTeacher: loaded.provenance.irmTeacher,
          irmTeacherFingerprint: loaded.provenance.irmTeacherFingerprint,
        },
      },
      { half: opts.half ?? true, int8: opts.int8 ?? false },
    );
  } finally {
    loaded.mae.dispose();
  }
}
