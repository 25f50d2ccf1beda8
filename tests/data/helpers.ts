/** Test helpers: toy face folders written to os.tmpdir() (no ../shared needed). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { writeImage } from '../../src/data/image-folder.js';
import type { RgbImage } from '../../src/types.js';

const made: string[] = [];
// Registered on the importing test file's root suite (helpers are imported during collection).
afterAll(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh folder under os.tmpdir(), removed when the test process exits. */
export function tmpDir(prefix = 'facemae-data-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** A deterministic w×h RGB image whose pixels encode (seed, x, y); left and right halves differ. */
export function patternImage(seed: number, w: number, h = w): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = (seed * 37 + x * 5) & 255;
      data[i + 1] = (seed * 11 + y * 3) & 255;
      data[i + 2] = (x < w / 2 ? 30 : 220) ^ (seed & 15);
    }
  }
  return { data, width: w, height: h };
}

/** Writes <root>/id<k>/<j>.png (lossless), `perId` images per identity; returns the root. */
export async function makeToyFolder(
  root: string,
  opts: { ids?: number; perId?: number; size?: number; ext?: 'png' | 'jpg' } = {},
): Promise<string> {
  const { ids = 3, perId = 4, size = 16, ext = 'png' } = opts;
  for (let k = 0; k < ids; k++) {
    for (let j = 0; j < perId; j++) {
      await writeImage(path.join(root, `id${k}`, `${j}.${ext}`), patternImage(k * 100 + j, size));
    }
  }
  return root;
}
