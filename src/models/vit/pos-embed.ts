/**
 * Fixed 2-D sine-cosine position embeddings (facebookresearch/mae util/pos_embed.py
 * `get_2d_sincos_pos_embed`): half the channels encode the row, half the column; each half is
 * [sin(pos·ω), cos(pos·ω)] with ω_k = 1 / 10000^(k/(D/4)). Not trained (MAE freezes them).
 */
import { FaceMaeError } from '../../core/errors.js';

/** -> Float32Array [(cls?1:0) + grid*grid, dim] row-major; the cls row is zeros. */
export function sincosPosEmbed2d(dim: number, grid: number, clsToken: boolean): Float32Array {
  if (dim % 4 !== 0)
    throw new FaceMaeError(
      `embedding dim must be a multiple of 4 for 2-D sin-cos position embeddings, got ${dim}`,
    );
  const rows = grid * grid + (clsToken ? 1 : 0);
  const out = new Float32Array(rows * dim);
  const quarter = dim / 4;
  const omega = Float64Array.from({ length: quarter }, (_, k) => 1 / Math.pow(10000, k / quarter));
  const off = clsToken ? 1 : 0;
  for (let i = 0; i < grid; i++) {
    for (let j = 0; j < grid; j++) {
      const r = (off + i * grid + j) * dim;
      // MAE: emb_h uses grid[0] (the w coordinate, from meshgrid(w, h)), emb_w uses grid[1]
      const coords = [j, i];
      for (let half = 0; half < 2; half++) {
        const pos = coords[half] as number;
        const base = r + half * (dim / 2);
        for (let k = 0; k < quarter; k++) {
          const a = pos * (omega[k] as number);
          out[base + k] = Math.sin(a);
          out[base + quarter + k] = Math.cos(a);
        }
      }
    }
  }
  return out;
}
