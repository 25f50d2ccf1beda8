/**
 * MAE model configuration: a preset (as the size factories of facebookresearch/mae,
 * e.g. mae_vit_base_patch16_dec512d8b) or explicit sizes, never both.
 */
import { FaceMaeError } from '../../core/errors.js';
import { checkPatchGrid } from '../vit/patch.js';

export interface MaeConfig {
  /** Square input side in pixels (default 112, the aligned-face size). Must be a multiple of patchSize. */
  imageSize: number;
  /** Patch side in pixels (16 in every preset). */
  patchSize: number;
  /** Encoder width, depth and heads. */
  dim: number;
  depth: number;
  heads: number;
  /** Decoder width, depth and heads (MAE: a light decoder, ~10% of the encoder's compute). */
  decoderDim: number;
  decoderDepth: number;
  decoderHeads: number;
  /** MLP hidden size = mlpRatio × width (4 in ViT). */
  mlpRatio: number;
  /**
   * Predict per-patch normalised pixels (MAE's norm_pix_loss). Off by default: a FaceMAE
   * reconstruction must be an image at deployment, and de-normalising masked patches would need
   * their (unknown) statistics.
   */
  normPixLoss: boolean;
}

export type MaePresetName = 'tiny' | 'small' | 'base';

type Sizes = Pick<
  MaeConfig,
  'patchSize' | 'dim' | 'depth' | 'heads' | 'decoderDim' | 'decoderDepth' | 'decoderHeads' | 'mlpRatio'
>;

/** tiny is the CPU default; base matches MAE's ViT-B/16 with the 512-d × 8 decoder. */
export const MAE_PRESETS: Record<MaePresetName, Sizes> = {
  tiny: {
    patchSize: 16,
    dim: 192,
    depth: 12,
    heads: 3,
    decoderDim: 128,
    decoderDepth: 4,
    decoderHeads: 4,
    mlpRatio: 4,
  },
  small: {
    patchSize: 16,
    dim: 384,
    depth: 12,
    heads: 6,
    decoderDim: 256,
    decoderDepth: 4,
    decoderHeads: 8,
    mlpRatio: 4,
  },
  base: {
    patchSize: 16,
    dim: 768,
    depth: 12,
    heads: 12,
    decoderDim: 512,
    decoderDepth: 8,
    decoderHeads: 16,
    mlpRatio: 4,
  },
};

const SIZE_KEYS = [
  'dim',
  'depth',
  'heads',
  'decoderDim',
  'decoderDepth',
  'decoderHeads',
  'mlpRatio',
] as const;

/**
 * What a user gives: `preset` (plus optionally imageSize/patchSize/normPixLoss), or every size
 * explicitly with `preset` unset/null.
 */
export type MaeModelSpec = Partial<MaeConfig> & { preset?: MaePresetName | null };

/** Every key is listed (sizes undefined) so config files may set them; see resolveMaeConfig. */
export const DEFAULT_MAE_SPEC: MaeModelSpec = {
  preset: 'tiny',
  imageSize: 112,
  normPixLoss: false,
  patchSize: undefined,
  dim: undefined,
  depth: undefined,
  heads: undefined,
  decoderDim: undefined,
  decoderDepth: undefined,
  decoderHeads: undefined,
  mlpRatio: undefined,
};

/** Resolves a spec into a full config; errors name the bad value. */
export function resolveMaeConfig(spec: MaeModelSpec): MaeConfig {
  let sizes: Sizes;
  if (spec.preset) {
    const p = MAE_PRESETS[spec.preset];
    if (!p)
      throw new FaceMaeError(
        `unknown MAE preset "${spec.preset}"; known: ${Object.keys(MAE_PRESETS).join(', ')}`,
        'E_CONFIG',
      );
    const both = SIZE_KEYS.filter((k) => spec[k] !== undefined && spec[k] !== null);
    if (both.length > 0) {
      throw new FaceMaeError(
        `model config gives preset "${spec.preset}" and explicit sizes (${both.join(', ')}): give one or the other (set preset to null for explicit sizes)`,
        'E_CONFIG',
      );
    }
    sizes = { ...p, patchSize: spec.patchSize ?? p.patchSize };
  } else {
    const missing = [...SIZE_KEYS, 'patchSize' as const].filter(
      (k) => k !== 'mlpRatio' && spec[k] === undefined,
    );
    if (missing.length > 0)
      throw new FaceMaeError(`model config without a preset needs ${missing.join(', ')}`, 'E_CONFIG');
    sizes = {
      patchSize: spec.patchSize as number,
      dim: spec.dim as number,
      depth: spec.depth as number,
      heads: spec.heads as number,
      decoderDim: spec.decoderDim as number,
      decoderDepth: spec.decoderDepth as number,
      decoderHeads: spec.decoderHeads as number,
      mlpRatio: spec.mlpRatio ?? 4,
    };
  }
  const cfg: MaeConfig = {
    ...sizes,
    imageSize: spec.imageSize ?? 112,
    normPixLoss: spec.normPixLoss ?? false,
  };
  checkPatchGrid(cfg.imageSize, cfg.patchSize);
  for (const [w, h, name] of [
    [cfg.dim, cfg.heads, 'dim/heads'],
    [cfg.decoderDim, cfg.decoderHeads, 'decoderDim/decoderHeads'],
  ] as const) {
    if (!(w > 0 && h > 0 && w % h === 0))
      throw new FaceMaeError(`${name}: width ${w} must be a positive multiple of heads ${h}`, 'E_CONFIG');
    if (w % 4 !== 0)
      throw new FaceMaeError(
        `${name}: width ${w} must be a multiple of 4 (sin-cos position embeddings)`,
        'E_CONFIG',
      );
  }
  return cfg;
}
