/**
 * Typed backbone registry (arcface_torch backbones/__init__.py get_model, as an exhaustive switch).
 * Every backbone maps [N,112,112,3] RGB in [0,1] to a D-dim embedding and implements FaceNet.
 */
import { tf } from '../../engine/backend.js';
import type { Rng } from '../../core/rng.js';
import { FaceMaeError } from '../../core/errors.js';
import type { FaceNet } from '../../types.js';
import { buildIResNet, type BuiltBackbone } from './iresnet.js';
import { buildMobileFaceNet } from './mobilefacenet.js';

export const BACKBONE_NAMES = [
  'r18',
  'r34',
  'r50',
  'r100',
  'r18-half',
  'r-tiny',
  'mbf',
  'mbf-small',
] as const;
export type BackboneName = (typeof BACKBONE_NAMES)[number];

export interface BackboneOptions {
  embeddingDim?: number;
  inputSize?: number;
}

/** A trainable face backbone: FaceNet plus its named parameters and BatchNorm buffers. */
export interface FaceBackbone extends FaceNet {
  readonly name: BackboneName;
  readonly params: Record<string, tf.Variable>;
  readonly buffers: Record<string, tf.Variable>;
  numParams(): number;
}

export function isBackboneName(v: string): v is BackboneName {
  return (BACKBONE_NAMES as readonly string[]).includes(v);
}

const W = [64, 128, 256, 512] as [number, number, number, number];

function build(name: BackboneName, rng: Rng, embeddingDim: number, inputSize: number): BuiltBackbone {
  const ir = (layers: [number, number, number, number], widths = W, stemStride = 1) =>
    buildIResNet({ layers, widths, embeddingDim, inputSize, stemStride }, rng);
  switch (name) {
    case 'r18':
      return ir([2, 2, 2, 2]);
    case 'r34':
      return ir([3, 4, 6, 3]);
    case 'r50':
      return ir([3, 4, 14, 3]);
    case 'r100':
      return ir([3, 13, 30, 3]);
    case 'r18-half':
      return ir([2, 2, 2, 2], [32, 64, 128, 256]);
    case 'r-tiny':
      // CPU-sized: one block per stage, quarter widths, stride-2 stem (maps 56 -> 4).
      return ir([1, 1, 1, 1], [16, 32, 64, 128], 2);
    case 'mbf':
      return buildMobileFaceNet({ blocks: [1, 4, 6, 2], scale: 2, embeddingDim, inputSize }, rng);
    case 'mbf-small':
      return buildMobileFaceNet({ blocks: [1, 1, 1, 1], scale: 0.5, embeddingDim, inputSize }, rng);
    default: {
      const never: never = name;
      throw new FaceMaeError(
        `unknown backbone "${String(never)}"; known: ${BACKBONE_NAMES.join(', ')}`,
        'E_CONFIG',
      );
    }
  }
}

/** Builds backbone `name` with weights drawn from `rng`. */
export function createBackbone(name: string, rng: Rng, opts: BackboneOptions = {}): FaceBackbone {
  if (!isBackboneName(name))
    throw new FaceMaeError(`unknown backbone "${name}"; known: ${BACKBONE_NAMES.join(', ')}`, 'E_CONFIG');
  const embeddingDim = opts.embeddingDim ?? 512;
  const inputSize = opts.inputSize ?? 112;
  if (inputSize % 16 !== 0)
    throw new FaceMaeError(`backbone input size must be a multiple of 16, got ${inputSize}`, 'E_CONFIG');
  const b = build(name, rng, embeddingDim, inputSize);
  let disposed = false;
  return {
    name,
    inputSize,
    embeddingDim,
    params: b.store.params,
    buffers: b.store.buffers,
    apply(x: tf.Tensor4D, training = false): tf.Tensor2D {
      if (disposed) throw new FaceMaeError(`backbone ${name} was disposed`);
      if (x.shape[1] !== inputSize || x.shape[2] !== inputSize || x.shape[3] !== 3) {
        throw new FaceMaeError(
          `backbone ${name} expects [N,${inputSize},${inputSize},3] input, got [${x.shape.join(',')}]`,
        );
      }
      return tf.tidy(() => b.forward(x, training));
    },
    trainableVariables: () => Object.values(b.store.params),
    numParams: () => Object.values(b.store.params).reduce((a, v) => a + v.size, 0),
    dispose() {
      if (disposed) return;
      disposed = true;
      b.dispose();
    },
  };
}
