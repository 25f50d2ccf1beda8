/**
 * Patchify / unpatchify (facebookresearch/mae models_mae.py `patchify`, `unpatchify`), in NHWC.
 * Patch vectors are ordered (row in patch, column in patch, channel), like MAE's 'nhwpqc'.
 * Only rank-4 transposes are used (rank 5–6 transposes are slow on tfjs-wasm).
 */
import { tf } from '../../engine/backend.js';
import { FaceMaeError } from '../../core/errors.js';

/** Checks that `imageSize` is a positive multiple of `patchSize`; the error names both. */
export function checkPatchGrid(imageSize: number, patchSize: number): number {
  if (
    !Number.isInteger(imageSize) ||
    !Number.isInteger(patchSize) ||
    patchSize <= 0 ||
    imageSize <= 0 ||
    imageSize % patchSize !== 0
  ) {
    throw new FaceMaeError(
      `image size ${imageSize} is not divisible by patch size ${patchSize}: choose a size that is a multiple of ${patchSize} (e.g. ${Math.max(1, Math.round(imageSize / Math.max(1, patchSize))) * Math.max(1, patchSize)})`,
      'E_CONFIG',
    );
  }
  return imageSize / patchSize;
}

/** imgs [N,H,W,C] -> [N, L=(H/p)*(W/p), p*p*C] */
export function patchify(imgs: tf.Tensor4D, p: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, hh, ww, c] = imgs.shape;
    if (hh % p !== 0 || ww % p !== 0)
      throw new FaceMaeError(`image ${hh}×${ww} is not divisible by patch size ${p}`);
    const h = hh / p;
    const w = ww / p;
    // [N,h,p,w,p,C] viewed as [N*h, p, w, p*C] -> swap the middle axes -> [N*h, w, p, p*C]
    const x = tf.transpose(tf.reshape(imgs, [n * h, p, w, p * c]), [0, 2, 1, 3]);
    return tf.reshape(x, [n, h * w, p * p * c]);
  });
}

/** x [N,L,p*p*C] -> imgs [N,H,W,C] with H=W=sqrt(L)*p */
export function unpatchify(x: tf.Tensor3D, p: number, channels = 3): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, l] = x.shape;
    const h = Math.round(Math.sqrt(l));
    if (h * h !== l) throw new FaceMaeError(`unpatchify needs a square patch grid, got ${l} patches`);
    const y = tf.transpose(tf.reshape(x, [n * h, h, p, p * channels]), [0, 2, 1, 3]);
    return tf.reshape(y, [n, h * p, h * p, channels]);
  });
}
