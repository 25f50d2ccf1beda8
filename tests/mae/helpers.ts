import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { writeImage } from '../../src/data/image-folder.js';
import type { Rng } from '../../src/core/rng.js';
import type { FaceNet } from '../../src/types.js';
import type { MaeConfig } from '../../src/models/mae/config.js';

/** The test-size MAE: 32×32 px, patch 8 (16 patches), dim 32 × 2, decoder 16 × 1. */
export const TINY_TEST: MaeConfig = {
  imageSize: 32,
  patchSize: 8,
  dim: 32,
  depth: 2,
  heads: 2,
  decoderDim: 16,
  decoderDepth: 1,
  decoderHeads: 2,
  mlpRatio: 2,
  normPixLoss: false,
};

/** Random images [n,s,s,3] in [0,1] from the rng. */
export function randomImages(n: number, s: number, rng: Rng): tf.Tensor4D {
  return tf.tensor4d(rng.uniformArray(n * s * s * 3), [n, s, s, 3]);
}

/** A tiny random differentiable FaceNet: flatten -> dense -> tanh -> dense (frozen teacher stand-in). */
export function tinyFaceNet(
  size: number,
  dim: number,
  rng: Rng,
): FaceNet & { w1: tf.Variable; w2: tf.Variable } {
  const fin = size * size * 3;
  const w1 = tf.variable(
    tf.tensor2d(
      Float32Array.from({ length: fin * 24 }, () => rng.normal() / Math.sqrt(fin)),
      [fin, 24],
    ),
  );
  const w2 = tf.variable(
    tf.tensor2d(
      Float32Array.from({ length: 24 * dim }, () => rng.normal() / Math.sqrt(24)),
      [24, dim],
    ),
  );
  return {
    inputSize: size,
    embeddingDim: dim,
    w1,
    w2,
    apply: (x) =>
      tf.tidy(() =>
        tf.matMul(tf.tanh(tf.matMul(tf.reshape(tf.sub(x, 0.5), [x.shape[0], fin]) as tf.Tensor2D, w1)), w2),
      ),
    trainableVariables: () => [],
    dispose: () => {
      w1.dispose();
      w2.dispose();
    },
  };
}

/** 3 identities × 4 images, 32×32, smooth colour blobs (learnable). */
export async function makeDataset(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-data-'));
  const rng = createRng(11);
  for (let id = 0; id < 3; id++) {
    for (let k = 0; k < 4; k++) {
      const buf = new Uint8Array(32 * 32 * 3);
      const cx = rng.next() * 32;
      const cy = rng.next() * 32;
      const col = [rng.int(256), rng.int(256), rng.int(256)];
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) {
          const w = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 80);
          for (let c = 0; c < 3; c++)
            buf[(y * 32 + x) * 3 + c] = Math.round(40 + w * ((col[c] as number) - 40));
        }
      await writeImage(path.join(dir, `id${id}`, `${k}.png`), { data: buf, width: 32, height: 32 });
    }
  }
  return dir;
}
