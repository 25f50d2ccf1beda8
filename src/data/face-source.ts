/**
 * The FaceSource interface on its own, so the sources (source.ts: folders; recordio.ts: .rec)
 * and the code choosing between them do not import each other.
 */
import type { FaceRecord, RgbImage } from '../types.js';
import type { ReadImageOptions } from './image-folder.js';

export interface FaceSource {
  /** For messages, e.g. the folder or .rec path. */
  readonly name: string;
  /** Number of images. */
  readonly length: number;
  /** identities[label] names the identity (folder name, or the label number for a .rec). */
  readonly identities: string[];
  /** Record of image i (no decoding): path or `file.rec#index`, label, identity. */
  record(i: number): FaceRecord;
  /** Decodes image i to RGB (resized or refused per opts). */
  read(i: number, opts?: ReadImageOptions): Promise<RgbImage>;
  /** Releases file handles (a no-op for folders). */
  close(): Promise<void>;
}
