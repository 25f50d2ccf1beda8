/**
 * Types shared across the library. Conventions:
 * - An image in memory is RGB uint8, row-major HWC (`RgbImage`).
 * - A tensor batch of faces is `[N, H, W, 3]` float32 RGB in [0, 1]; each network does its own
 *   input normalisation (e.g. `(x - 0.5) / 0.5` for our models, BGR `(x*255 - 127) / 128` for faceplugin).
 * - Masks use 1 = removed, 0 = kept.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** A decoded image: `data` is height*width*3 bytes, RGB, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** One face of a labelled dataset. `label` is the dense identity index, `identity` its folder name. */
export interface FaceRecord {
  path: string;
  label: number;
  identity: string;
}

/** A batch from a loader. images: [N, H, W, 3] float32 RGB in [0, 1]; labels: [N]. */
export interface FaceBatch {
  images: tf.Tensor4D;
  labels: Int32Array;
  records: FaceRecord[];
}

/**
 * A differentiable face-recognition network in tfjs (our backbones, or an ONNX model imported
 * into tfjs). Used as the frozen IRM teacher and as the trainable recognizer.
 */
export interface FaceNet {
  readonly inputSize: number;
  readonly embeddingDim: number;
  /** x: [N, S, S, 3] float32 RGB in [0, 1] -> [N, D] embedding (not L2-normalised). */
  apply(x: tf.Tensor4D, training?: boolean): tf.Tensor2D;
  /** Variables an optimizer may update (none for a frozen imported net). */
  trainableVariables(): tf.Variable[];
  dispose(): void;
}

/**
 * Any source of face embeddings (tfjs checkpoint, ONNX through onnxruntime-node, the bundled
 * faceplugin recognizer). Eval code uses only this.
 */
export interface Embedder {
  readonly name: string;
  readonly embeddingDim: number;
  readonly inputSize: number;
  /** images: n × S × S × 3 RGB uint8, row-major, concatenated -> n × D Float32Array (not normalised). */
  embed(images: Uint8Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void> | void;
}

/** Progress callback used by long-running library functions (the CLI turns it into a bar). */
export type OnProgress = (done: number, total: number, status?: string) => void;
