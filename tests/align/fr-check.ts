/**
 * The faceplugin recognizer for the alignment checks: 112×112 RGB -> 512-d, through the shared
 * `createEmbedder('faceplugin')` of src/eval (fr_feature.onnx via onnxruntime-node, BGR, (x − 127)/128).
 */
import { createEmbedder } from '../../src/loaders/embedders.js';

export async function createFaceRecognizerForCheck(): Promise<{
  embed(rgb112: Uint8Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}> {
  const embedder = await createEmbedder('faceplugin', { threads: 1 });
  return {
    embed: (rgb) => embedder.embed(rgb, 1),
    dispose: async () => {
      await embedder.dispose();
    },
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
