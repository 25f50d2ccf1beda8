/** Loads a FaceNet (eval mode) from a `facemae train-fr` run folder's checkpoint. */
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { initEngine } from '../engine/backend.js';
import { assignWeights, disposeCheckpoint, hasCheckpoint, loadCheckpoint } from '../train/checkpoint.js';
import { createBackbone, type FaceBackbone } from '../models/backbones/index.js';

export async function loadRunFaceNet(dir: string): Promise<FaceBackbone> {
  if (!hasCheckpoint(dir)) {
    throw new FaceMaeError(
      `${dir} holds no checkpoint (checkpoint.json): give a train-fr run folder, 'faceplugin' or a .onnx file`,
      'E_NO_CKPT',
    );
  }
  await initEngine();
  const ckpt = loadCheckpoint(dir);
  try {
    const meta = (ckpt.meta ?? {}) as {
      kind?: string;
      backbone?: string;
      embeddingDim?: number;
      inputSize?: number;
    };
    if (meta.kind !== 'facemae-fr' || !meta.backbone) {
      throw new FaceMaeError(
        `${dir} is not a train-fr run (checkpoint kind "${meta.kind ?? 'unknown'}")`,
        'E_BAD_CKPT',
      );
    }
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
