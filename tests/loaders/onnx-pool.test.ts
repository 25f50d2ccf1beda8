import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { openOnnxPool } from '../../src/loaders/onnx-pool.js';
import { resolveOnnxSpec } from '../../src/loaders/face-net.js';
import { createRng } from '../../src/core/rng.js';

const { file, input } = resolveOnnxSpec('faceplugin');
const S = 112;
const N = 5;
const images = Uint8Array.from(createRng(7).uniformArray(N * S * S * 3), (v) => Math.floor(v * 256));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-pool-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The same model in one main-thread session at one thread, image by image: the reference. */
async function reference(): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const out = new Float32Array(N * 512);
  for (let n = 0; n < N; n++) {
    const x = new Float32Array(3 * S * S);
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < S * S; p++) x[c * S * S + p] = (images[(n * S * S + p) * 3 + (2 - c)]! - 127) / 128; // BGR
    const r = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, [1, 3, S, S]) });
    out.set(r[s.outputNames[0]!]!.data as Float32Array, n * 512);
  }
  await s.release();
  return out;
}

describe('the ONNX worker pool', () => {
  it('gives every image the reference embedding bit for bit, whatever the number of workers, and leaves the input whole', async () => {
    expect(input.channelOrder).toBe('bgr');
    const want = await reference();
    const before = images.slice();
    for (const workers of [1, 2, 3]) {
      const pool = await openOnnxPool(file, input, 'face recognition', workers);
      expect([pool.workers, pool.inputSize, pool.embeddingDim]).toEqual([workers, S, 512]);
      const got = await pool.embed(images, N);
      expect(Array.from(got)).toEqual(Array.from(want));
      // fewer images than workers
      expect(Array.from(await pool.embed(images.subarray(S * S * 3, 2 * S * S * 3), 1))).toEqual(
        Array.from(want.subarray(512, 1024)),
      );
      await pool.dispose();
      await expect(pool.embed(images, N)).rejects.toThrow(/disposed/);
    }
    expect(images).toEqual(before);
  });

  it('an idle pool does not keep the process alive, even undisposed', () => {
    const script = [
      "import { openOnnxPool } from './src/loaders/onnx-pool.js';",
      "import { resolveOnnxSpec } from './src/loaders/face-net.js';",
      "const { file, input } = resolveOnnxSpec('faceplugin');",
      "const pool = await openOnnxPool(file, input, 'face recognition', 2);",
      'const e = await pool.embed(new Uint8Array(3 * 112 * 112 * 3), 3);',
      'console.log(e.length);', // and no dispose(): the process must still end
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.signal, 'the process was still running after 60 s').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(String(3 * 512));
  });

  it('opens FACEMAE_THREADS workers by default, as the engine takes its threads', async () => {
    const before = process.env.FACEMAE_THREADS;
    try {
      for (const [env, want] of [
        ['1', 1],
        ['3', 3],
        ['', os.availableParallelism()],
      ] as const) {
        process.env.FACEMAE_THREADS = env;
        const pool = await openOnnxPool(file, input, 'face recognition');
        expect(pool.workers).toBe(want);
        await pool.dispose();
      }
    } finally {
      if (before === undefined) delete process.env.FACEMAE_THREADS;
      else process.env.FACEMAE_THREADS = before;
    }
  });

  it('names a file onnxruntime cannot load, a missing file and a bad thread count', async () => {
    const bad = path.join(tmp, 'bad.onnx');
    fs.writeFileSync(
      bad,
      Uint8Array.from({ length: 200 }, (_, i) => (i * 37) % 251),
    );
    await expect(openOnnxPool(bad, input, 'face recognition', 2)).rejects.toMatchObject({
      code: 'E_BAD_MODEL',
      message: expect.stringMatching(/^cannot load face recognition model .*bad\.onnx: /),
    });
    await expect(openOnnxPool(path.join(tmp, 'none.onnx'), input, 'face recognition')).rejects.toThrow(
      /face recognition model not found: .*none\.onnx/,
    );
    await expect(openOnnxPool(file, input, 'face recognition', 0)).rejects.toThrow(
      /threads must be a positive integer, got 0/,
    );
  });
});
