/**
 * The bundled tfjs graph-model recognizers by embedder spec keyword (loaded by graph-model.ts).
 * A table without tfjs imports, so config code can recognise the keywords cheaply.
 */
import type { FaceInputSpec } from '../models/onnx/face-input.js';

export interface GraphModelSpec {
  /** Folder under assets/models holding model.json and its weight shards. */
  dir: string;
  /** Output node to read the embedding from. */
  output: string;
  /** Pixel convention; inputSize is the model's own side (images are resized to it). */
  input: FaceInputSpec;
}

/** The bundled graph-model recognizers by embedder spec keyword. */
export const GRAPH_MODELS: Readonly<Record<string, GraphModelSpec>> = {
  faceres: {
    dir: 'faceres',
    output: 'global_pooling/Mean',
    input: { channelOrder: 'rgb', mean: 0, std: 1, inputSize: 224 },
  },
  mobileface: {
    dir: 'mobileface',
    output: 'batchnorm0/add_1',
    input: { channelOrder: 'rgb', mean: 0, std: 1, inputSize: 112 },
  },
};

export const isGraphModelSpec = (spec: string): boolean => Object.hasOwn(GRAPH_MODELS, spec);
