/**
 * The faceplugin recognizer (fr_feature.onnx) for the alignment checks: 112×112 RGB -> 512-d.
 * Local to the align tests so they do not depend on the eval area; input BGR, (x − 127) / 128, NCHW.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const MODEL = path.resolve(import.meta.dirname, '../../assets/models/faceplugin/fr_feature.onnx');

export async function createFaceRecognizerForCheck(): Promise<{
  embed(rgb112: Uint8Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}> {
  const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1 });
  return {
    async embed(rgb) {
      const n = 112 * 112;
      const x = new Float32Array(3 * n);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++) x[(2 - c) * n + i] = ((rgb[i * 3 + c] as number) - 127) / 128;
      }
      const out = await session.run({ input: new ort.Tensor('float32', x, [1, 3, 112, 112]) });
      return (out.output as ort.Tensor).data as Float32Array;
    },
    dispose: () => session.release(),
  };
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}
