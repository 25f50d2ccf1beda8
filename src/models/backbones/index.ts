/**
 * Typed backbone registry (arcface_torch backbones/__init__.py get_model, as an exhaustive switch).
 * Every backbone maps [N,112,112,3] RGB in [0,1] to a D-dim embedding and implements FaceNet.
 */
import { tf } from '../../engine/backend.js';
import type { Rng } from '../../core/rng.js';
import { FaceMaeError } from '../../core/errors.js';
import type { FaceNet } from '../../types.js';
import { buildIResNet, type BuiltBackbone, type IResNetConfig } from './iresnet.js';
import { buildMobileFace } from './mobileface.js';
import { buildMobileFaceNet, type MobileFaceNetConfig } from './mobilefacenet.js';

export const BACKBONE_NAMES = [
  'r18',
  'r34',
  'r50',
  'r100',
  'r18-half',
  'r-tiny',
  'mbf',
  'mbf-small',
  'mobileface',
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

/** A registry entry's architecture, without the embedding size and input side (given at build). */
export type BackboneArch =
  | ({ kind: 'iresnet' } & Required<Pick<IResNetConfig, 'layers' | 'widths' | 'stemStride'>>)
  | ({ kind: 'mobilefacenet' } & Pick<MobileFaceNetConfig, 'blocks' | 'scale'>)
  /** the bundled mobileface attacker's network (fixed 112 px, 256-d: its pretrained weights) */
  | { kind: 'mobileface' };

const W: [number, number, number, number] = [64, 128, 256, 512];
const ir = (layers: [number, number, number, number], widths = W, stemStride = 1): BackboneArch => ({
  kind: 'iresnet',
  layers,
  widths,
  stemStride,
});

/** Every registry name's architecture (read by the PyTorch peers of `npm run bench -- fr`). */
export const BACKBONE_ARCHS: Record<BackboneName, BackboneArch> = {
  r18: ir([2, 2, 2, 2]),
  r34: ir([3, 4, 6, 3]),
  r50: ir([3, 4, 14, 3]),
  r100: ir([3, 13, 30, 3]),
  'r18-half': ir([2, 2, 2, 2], [32, 64, 128, 256]),
  // CPU-sized: one block per stage, quarter widths, stride-2 stem (maps 56 -> 4).
  'r-tiny': ir([1, 1, 1, 1], [16, 32, 64, 128], 2),
  mbf: { kind: 'mobilefacenet', blocks: [1, 4, 6, 2], scale: 2 },
  'mbf-small': { kind: 'mobilefacenet', blocks: [1, 1, 1, 1], scale: 0.5 },
  mobileface: { kind: 'mobileface' },
};

function build(name: BackboneName, rng: Rng, embeddingDim: number, inputSize: number): BuiltBackbone {
  const a = BACKBONE_ARCHS[name];
  switch (a.kind) {
    case 'iresnet':
      return buildIResNet(
        { layers: a.layers, widths: a.widths, stemStride: a.stemStride, embeddingDim, inputSize },
        rng,
      );
    case 'mobilefacenet':
      return buildMobileFaceNet({ blocks: a.blocks, scale: a.scale, embeddingDim, inputSize }, rng);
    case 'mobileface':
      return buildMobileFace({ embeddingDim, inputSize }, rng);
    default: {
      const never: never = a;
      throw new FaceMaeError(`unknown backbone kind ${JSON.stringify(never)}`, 'E_CONFIG');
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
