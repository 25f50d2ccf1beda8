/** Image grids for the report: rows of equally sized RgbImages composed on a white canvas (pure). */
import { FaceMaeError } from '../core/errors.js';
import type { RgbImage } from '../types.js';

/** cells[row][col], each cell×cell (missing cells stay light gray) -> one image with `pad` px gaps. */
export function composeGrid(cells: Array<Array<RgbImage | undefined>>, cell: number, pad = 4): RgbImage {
  const rows = cells.length;
  const cols = Math.max(0, ...cells.map((r) => r.length));
  const width = cols * cell + (cols + 1) * pad;
  const height = rows * cell + (rows + 1) * pad;
  const data = new Uint8Array(width * height * 3).fill(255);
  cells.forEach((row, r) => {
    for (let c = 0; c < cols; c++) {
      const img = row[c];
      const x0 = pad + c * (cell + pad);
      const y0 = pad + r * (cell + pad);
      if (img && (img.width !== cell || img.height !== cell)) {
        throw new FaceMaeError(
          `grid cell [${r},${c}] is ${img.width}×${img.height}, expected ${cell}×${cell}`,
          'E_IMAGE_SHAPE',
        );
      }
      for (let y = 0; y < cell; y++) {
        const dst = ((y0 + y) * width + x0) * 3;
        if (img) data.set(img.data.subarray(y * cell * 3, (y + 1) * cell * 3), dst);
        else data.fill(230, dst, dst + cell * 3);
      }
    }
  });
  return { data, width, height };
}
