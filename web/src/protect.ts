/**
 * The deployment step in the page: aligned 112×112 faces -> masked at a ratio and seed -> FaceMAE
 * reconstruction, with the same noise (src/deploy/masks.ts) and masking (src/models/mae/masking.ts)
 * as `facemae reconstruct`, so a given seed and `<identity>/<file>` key removes the same patches.
 */
import { findFace, alignToTemplate } from '../../src/align/align-face.js';
import { resizeBilinear } from '../../src/align/image-ops.js';
import { ALIGNED_SIZE } from '../../src/align/template.js';
import type { FaceDetector } from '../../src/align/types.js';
import { batchMaskNoise, manifestLine } from '../../src/deploy/masks.js';
import { lenKeepFor, maskingFromNoise } from '../../src/models/mae/masking.js';
import type { RgbImage } from '../../src/types.js';
import type { InferenceSession } from 'onnxruntime-web/wasm';
import type { Protected } from './api.js';
import type { OrtModule } from './runtime.js';

export type { Protected } from './api.js';

export type DetectMode = 'auto' | 'always' | 'aligned';

/** What build-web.mjs writes beside the model (models/facemae.json). */
export interface ModelInfo {
  imageSize: number;
  patchSize: number;
  numPatches: number;
  maskRatio: number;
  source: string;
}

export interface PhotoIn {
  /** `<identity>/<file>`: the mask key and the output path. */
  key: string;
  identity: string;
  image: RgbImage;
}

export interface Aligned extends PhotoIn {
  /** The face fed to the model (112×112), or undefined when no face was found. */
  face?: RgbImage;
  how: 'as-is' | 'resized' | 'detected' | 'no-face';
}

/** Photo -> 112×112 face per the mode; 'auto' keeps 112×112 photos as they are. */
export async function alignPhotoIn(
  p: PhotoIn,
  mode: DetectMode,
  detector: FaceDetector | undefined,
): Promise<Aligned> {
  const S = ALIGNED_SIZE;
  const square = p.image.width === S && p.image.height === S;
  if (mode === 'aligned' || (mode === 'auto' && square)) {
    // the command line's loader resizes other sizes too (with a warning)
    return square
      ? { ...p, face: p.image, how: 'as-is' }
      : { ...p, face: resizeBilinear(p.image, S, S), how: 'resized' };
  }
  if (!detector) throw new Error('no face detector loaded');
  const found = await findFace(detector, p.image);
  if (!found) return { ...p, how: 'no-face' };
  return { ...p, face: alignToTemplate(p.image, found.face.landmarks).image, how: 'detected' };
}

/** images [n,S,S,3] in [0,1] exactly as the command line's loader (byte / 255 in float32). */
function toUnit(faces: RgbImage[], S: number): Float32Array {
  const out = new Float32Array(faces.length * S * S * 3);
  faces.forEach((f, j) => {
    const off = j * S * S * 3;
    for (let i = 0; i < S * S * 3; i++) out[off + i] = (f.data[i] as number) / 255;
  });
  return out;
}

/** Masks and reconstructs one batch of aligned faces (same rounding to bytes as the CLI's writer). */
export async function reconstructBatch(
  ort: OrtModule,
  session: InferenceSession,
  info: ModelInfo,
  items: Array<{ key: string; identity: string; face: RgbImage; output: string }>,
  seed: number,
  maskRatio: number,
  pasteBack = 1,
): Promise<Protected[]> {
  const n = items.length;
  const S = info.imageSize;
  const L = info.numPatches;
  const noise = batchMaskNoise(
    seed,
    items.map((it) => it.key),
    L,
  );
  const m = maskingFromNoise(noise, n, L, maskRatio);
  const out = await session.run({
    image: new ort.Tensor(
      'float32',
      toUnit(
        items.map((it) => it.face),
        S,
      ),
      [n, S, S, 3],
    ),
    noise: new ort.Tensor('float32', noise, [n, L]),
    keep: new ort.Tensor('int64', BigInt64Array.from([BigInt(lenKeepFor(L, maskRatio))]), [1]),
    paste_back: new ort.Tensor('float32', Float32Array.from([pasteBack]), [1]),
  });
  const rec = out.reconstruction!.data as Float32Array;
  return items.map((it, j) => {
    const px = new Uint8Array(S * S * 3);
    const off = j * S * S * 3;
    for (let i = 0; i < px.length; i++)
      px[i] = Math.min(255, Math.max(0, Math.round((rec[off + i] as number) * 255)));
    return {
      key: it.key,
      identity: it.identity,
      face: it.face,
      reconstruction: { data: px, width: S, height: S },
      mask: m.mask.slice(j * L, (j + 1) * L),
      manifest: manifestLine(m, j, {
        source: it.key,
        output: it.output,
        identity: it.identity,
        seed,
        maskRatio,
        pasteBack,
      }),
    };
  });
}
