/**
 * What the page exposes as `window.facemae` (read by tests/web and bench/web.ts), and the result
 * types behind it. Types only, with no browser or bundler imports, so Node code can use them too.
 */
import type { ManifestLine } from '../../src/deploy/masks.js';
import type { RgbImage } from '../../src/types.js';

export interface Protected {
  key: string;
  identity: string;
  face: RgbImage;
  reconstruction: RgbImage;
  /** [L] 1 = removed */
  mask: Float32Array;
  manifest: ManifestLine;
}

export interface RunSummary {
  seed: number;
  maskRatio: number;
  /** The release knob: weight of the real pixels on the visible patches (1: pasted back). */
  pasteBack: number;
  results: Protected[];
  noFace: Array<{ path: string; reason: string }>;
  seconds: number;
  /** seconds inside the MAE session alone */
  modelSeconds: number;
}

export interface PageState {
  status: 'loading' | 'ready' | 'running' | 'done' | 'error';
  error?: string;
  last?: RunSummary;
}

export interface PageApi {
  state: PageState;
  /** The zip the download button saves. */
  zipBytes(): Promise<Uint8Array>;
}
