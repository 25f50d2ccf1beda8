/**
 * How a face model wants its pixels. Our FaceNet/Embedder inputs are RGB; an ONNX model may
 * want BGR and its own normalisation: pixel' = (255·x − mean) / std, per channel.
 * faceplugin's fr_feature.onnx: BGR, (x − 127) / 128. insightface's w600k_*.onnx: RGB, (x − 127.5) / 127.5.
 */
import { FaceMaeError } from '../../core/errors.js';

export const CHANNEL_ORDERS = ['rgb', 'bgr'] as const;
export type ChannelOrder = (typeof CHANNEL_ORDERS)[number];

export interface FaceInputSpec {
  channelOrder: ChannelOrder;
  /** Subtracted from 0..255 pixels. */
  mean: number;
  /** Divides after the mean is removed. */
  std: number;
  /** Square input side, 112 for every model this project uses. */
  inputSize: number;
}

/** insightface's convention (RGB, (x − 127.5)/127.5), the default for an unknown ONNX model. */
export const INSIGHTFACE_INPUT: FaceInputSpec = {
  channelOrder: 'rgb',
  mean: 127.5,
  std: 127.5,
  inputSize: 112,
};
/** The bundled faceplugin recognizer (scores 99.45% on LFW with BGR, 99.13% with RGB). */
export const FACEPLUGIN_INPUT: FaceInputSpec = { channelOrder: 'bgr', mean: 127, std: 128, inputSize: 112 };

/** Validates a partial spec read from a sidecar JSON or flags; `where` names its source in errors. */
export function parseFaceInputSpec(
  raw: unknown,
  where: string,
  base: FaceInputSpec = INSIGHTFACE_INPUT,
): FaceInputSpec {
  if (raw === undefined || raw === null) return base;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new FaceMaeError(`${where}: expected a JSON object`, 'E_CONFIG');
  const r = raw as Record<string, unknown>;
  const known = ['channelOrder', 'mean', 'std', 'inputSize'];
  for (const k of Object.keys(r)) {
    if (!known.includes(k))
      throw new FaceMaeError(`${where}: unknown key "${k}"; known: ${known.join(', ')}`, 'E_CONFIG');
  }
  const out = { ...base };
  if (r.channelOrder !== undefined) {
    if (!CHANNEL_ORDERS.includes(r.channelOrder as ChannelOrder)) {
      throw new FaceMaeError(
        `${where}: channelOrder must be "rgb" or "bgr", got ${JSON.stringify(r.channelOrder)}`,
        'E_CONFIG',
      );
    }
    out.channelOrder = r.channelOrder as ChannelOrder;
  }
  for (const k of ['mean', 'std', 'inputSize'] as const) {
    if (r[k] === undefined) continue;
    const v = r[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || (k !== 'mean' && v <= 0)) {
      throw new FaceMaeError(
        `${where}: ${k} must be a ${k === 'mean' ? '' : 'positive '}number, got ${JSON.stringify(v)}`,
        'E_CONFIG',
      );
    }
    out[k] = v;
  }
  return out;
}
