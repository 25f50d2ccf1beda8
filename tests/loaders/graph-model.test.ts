/** The bundled tfjs graph-model attackers (faceres, mobileface) load from disk and separate identities. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImage } from '../../src/data/image-folder.js';
import { initEngine, tf } from '../../src/engine/backend.js';
import { embedImages } from '../../src/eval/embed.js';
import { createEmbedder } from '../../src/loaders/embedders.js';

const deploy = path.resolve(import.meta.dirname, '../../assets/sample/deploy');
const files = [
  'Allyson_Felix/Allyson_Felix_0001.jpg',
  'Allyson_Felix/Allyson_Felix_0003.jpg',
  'Alvaro_Uribe/Alvaro_Uribe_0007.jpg',
];

describe('bundled graph-model embedders', () => {
  for (const [spec, dim] of [
    ['faceres', 1024],
    ['mobileface', 256],
  ] as const) {
    it(`${spec}: ${dim}-d unit embeddings, same person closer than a different one, no leak`, async () => {
      const images = await Promise.all(files.map((f) => readImage(path.join(deploy, f), { size: 112 })));
      await initEngine();
      const start = tf.memory().numTensors;
      const e = await createEmbedder(spec);
      const before = tf.memory().numTensors;
      expect(e).toMatchObject({ name: spec, embeddingDim: dim, inputSize: 112 });
      const emb = await embedImages(e, images, { flip: false });
      expect(tf.memory().numTensors).toBe(before);
      expect(emb.length).toBe(3 * dim);
      const row = (i: number) => emb.subarray(i * dim, (i + 1) * dim);
      const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, k) => s + v * b[k]!, 0);
      for (let i = 0; i < 3; i++) expect(dot(row(i), row(i))).toBeCloseTo(1, 4);
      const same = dot(row(0), row(1));
      const diff = dot(row(0), row(2));
      expect(same).toBeGreaterThan(diff + 0.1);
      await e.dispose();
      expect(tf.memory().numTensors).toBe(start);
    }, 120_000); // a few seconds on idle cores; generous for a loaded CI machine
  }
});
