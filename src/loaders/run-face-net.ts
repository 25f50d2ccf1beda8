/** Loads a FaceNet (eval mode) from a `facemae train-fr` run folder's checkpoint. */
import path from 'node:path';
import { createRng } from '../core/rng.js';
import type { tf } from '../engine/backend.js';
import { readGraphWeights } from './graph-model.js';
import { isGraphModelSpec } from './graph-model-specs.js';
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

/**
 * The starting weights of a recognizer's backbone (train-fr `init`): a bundled graph model of the
 * same architecture ('mobileface') or a train-fr run folder. The classifier head is never taken:
 * a fine-tuning has its own identities. The caller disposes the tensors.
 */
export async function readBackboneInit(spec: string): Promise<Record<string, tf.Tensor>> {
  if (isGraphModelSpec(spec)) return readGraphWeights(spec);
  readRunInfo(spec, 'facemae-fr', { key: 'init' });
  await initEngine();
  const ckpt = loadCheckpoint(spec);
  if (ckpt.optimizer) for (const t of Object.values(ckpt.optimizer.slots)) t.dispose();
  const { ['head.weight']: head, ...weights } = ckpt.weights;
  head?.dispose();
  return weights;
}
