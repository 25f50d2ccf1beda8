/** Loads a FaceNet (eval mode) from a `facemae train-fr` run folder's checkpoint. */
import path from 'node:path';
import { createRng } from '../core/rng.js';
import { initEngine } from '../engine/backend.js';
import { assignWeights, disposeCheckpoint, loadCheckpoint, readRunInfo } from '../data/checkpoint.js';
import { createBackbone, type FaceBackbone } from '../models/backbones/index.js';

export async function loadRunFaceNet(dir: string): Promise<FaceBackbone> {
  const meta = (readRunInfo(dir, 'facemae-fr', { also: ", 'faceplugin' or a .onnx file" }).meta ?? {}) as {
    backbone: string;
    embeddingDim?: number;
    inputSize?: number;
  };
  await initEngine();
  const ckpt = loadCheckpoint(dir);
  try {
    const net = createBackbone(meta.backbone, createRng(0), {
      embeddingDim: meta.embeddingDim,
      inputSize: meta.inputSize,
    });
    assignWeights({ ...net.params, ...net.buffers }, ckpt.weights, path.join(dir, 'checkpoint.json'));
    return net;
  } finally {
    disposeCheckpoint(ckpt);
  }
}
