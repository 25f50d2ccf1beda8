/**
 * FaceMAE deployment (Wang, Zhao et al. 2022, Sec. 3.3): every image of a dataset of unseen
 * identities is randomly masked and reconstructed by the trained MAE (visible patches pasted back,
 * or blended: `pasteBack`), and the reconstructions are released instead of the originals. The
 * `reconstruct` verb's options over the one protection pipeline (protect-dataset.ts).
 */
import type { LoadedMae } from '../deploy/load-mae.js';
import { protectDataset, type ProtectOptions, type ProtectResult } from './protect-dataset.js';

export type { ReleaseFormat as ReconstructFormat } from './protect-dataset.js';

export interface ReconstructOptions extends Omit<ProtectOptions, 'size'> {
  /** A train-mae run folder, or an already loaded model. */
  model: string | LoadedMae;
  /** Image folder (<identity>/<image>) or .rec of the identities to protect. */
  data: string;
  out: string;
  /** Default: the ratio the model was trained with. */
  maskRatio?: number;
  /**
   * Weight of the real pixels on the visible patches, in [0, 1] (default 1: pasted back, as MAE
   * does); 0 releases the decoder's prediction everywhere, so no pixel of the person is copied.
   */
  pasteBack?: number;
}

export type ReconstructResult = ProtectResult;

/** Masks and reconstructs a dataset into a release (out/images, out/manifest.jsonl, out/config.json). */
export function reconstructDataset(opts: ReconstructOptions): Promise<ReconstructResult> {
  const { model, data, out, maskRatio, pasteBack, ...rest } = opts;
  return protectDataset(
    data,
    {
      method: 'facemae',
      model,
      ...(maskRatio !== undefined ? { strength: maskRatio } : {}),
      ...(pasteBack !== undefined ? { pasteBack } : {}),
    },
    out,
    rest,
  );
}
