/**
 * Streaming batches of faces for training: seeded shuffling, horizontal-flip augmentation, and
 * bounded memory (only the batch being consumed plus `prefetch` batches ahead are decoded; the
 * set is never held whole). Follows the role of arcface_torch's DataLoader over MXFaceDataset.
 */
import { FaceMaeError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { tf } from '../engine/backend.js';
import type { FaceBatch, FaceRecord, RgbImage } from '../types.js';
import { flipHorizontal, onceWarning, type OnWarning, type WrongSizePolicy } from './image-folder.js';
import { folderSource, type FaceSource } from './source.js';

export interface LoaderOptions {
  /** The images: listed records (e.g. `listImageFolder(root).records`) or any FaceSource (e.g. a .rec). */
  records?: FaceRecord[];
  source?: FaceSource;
  batchSize: number;
  /** Square side of the output; other sizes are resized (one warning) or refused per onWrongSize. */
  size: number;
  /** Reshuffle each epoch with `rng` (default false: source order). */
  shuffle?: boolean;
  /** Mirror each image with probability 1/2, drawn from `rng` (default false). */
  flip?: boolean;
  /** Needed when shuffle or flip is on; each epoch() advances it. */
  rng?: Rng;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Batches decoded ahead of the one being consumed (default 2). */
  prefetch?: number;
  /** Images decoded at once within a batch (default 8). */
  concurrency?: number;
  /** Default 'resize'. */
  onWrongSize?: WrongSizePolicy;
  /** Hears "resizing images…" once per loader, and other notes. */
  onWarning?: OnWarning;
}

export interface Loader {
  /** Batches per epoch. */
  readonly length: number;
  /** Images per epoch (after dropLast). */
  readonly numImages: number;
  readonly identities: string[];
  /**
   * One pass over the data. Each batch's `images` tensor [N, size, size, 3] float32 RGB in [0, 1]
   * belongs to the caller, who must dispose it. Breaking out of the loop stops the decoding.
   */
  epoch(): AsyncIterable<FaceBatch>;
}

interface Decoded {
  pixels: Uint8Array;
  labels: Int32Array;
  records: FaceRecord[];
}

export function createLoader(opts: LoaderOptions): Loader {
  const { batchSize, size } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new FaceMaeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(size) || size < 1)
    throw new FaceMaeError(`size must be a positive integer, got ${size}`);
  if (opts.source && opts.records) throw new FaceMaeError('createLoader: pass records or source, not both');
  const source = opts.source ?? (opts.records ? folderSource(opts.records) : undefined);
  if (!source) throw new FaceMaeError('createLoader: pass records or source');
  if (source.length === 0) throw new FaceMaeError(`no images to load in ${source.name}`, 'E_EMPTY');
  const shuffle = opts.shuffle ?? false;
  const flip = opts.flip ?? false;
  const rng = opts.rng;
  if ((shuffle || flip) && !rng)
    throw new FaceMaeError('createLoader: shuffle/flip need an rng (createRng(seed))');
  const prefetch = Math.max(0, opts.prefetch ?? 2);
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const numImages = opts.dropLast ? Math.floor(source.length / batchSize) * batchSize : source.length;
  if (numImages === 0) {
    throw new FaceMaeError(
      `${source.name} has ${source.length} images, fewer than one batch of ${batchSize} with dropLast`,
      'E_EMPTY',
    );
  }
  const length = Math.ceil(numImages / batchSize);
  const warn = onceWarning(opts.onWarning);
  const readOpts = { size, onWrongSize: opts.onWrongSize ?? 'resize', onWarning: warn } as const;
  const pixelsPerImage = size * size * 3;

  async function decodeBatch(indices: number[], flips: boolean[] | null): Promise<Decoded> {
    const pixels = new Uint8Array(indices.length * pixelsPerImage);
    const labels = new Int32Array(indices.length);
    const records: FaceRecord[] = indices.map((i) => source!.record(i));
    let next = 0;
    const worker = async () => {
      for (let k = next++; k < indices.length; k = next++) {
        let img: RgbImage = await source!.read(indices[k] as number, readOpts);
        if (flips?.[k]) img = flipHorizontal(img);
        pixels.set(img.data, k * pixelsPerImage);
        labels[k] = (records[k] as FaceRecord).label;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, indices.length) }, worker));
    return { pixels, labels, records };
  }

  async function* epoch(): AsyncGenerator<FaceBatch> {
    // Order and flips are drawn up front so they depend only on the rng, not on decode timing.
    const order = Array.from({ length: source!.length }, (_, i) => i);
    if (shuffle) rng!.shuffle(order);
    const flips = flip ? order.map(() => rng!.next() < 0.5) : null;
    const pending: Promise<Decoded>[] = [];
    let launched = 0;
    const launch = () => {
      while (pending.length <= prefetch && launched < length) {
        const lo = launched * batchSize;
        const hi = Math.min(lo + batchSize, numImages);
        const p = decodeBatch(order.slice(lo, hi), flips ? flips.slice(lo, hi) : null);
        p.catch(() => {}); // surfaced when awaited; avoids unhandled rejections after an early break
        pending.push(p);
        launched++;
      }
    };
    launch();
    while (pending.length > 0) {
      const d = await (pending.shift() as Promise<Decoded>);
      launch();
      const n = d.labels.length;
      yield { images: pixelsToTensor(d.pixels, n, size, size), labels: d.labels, records: d.records };
    }
  }

  return { length, numImages, identities: source.identities, epoch };
}

const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** n×h×w×3 uint8 RGB -> [n, h, w, 3] float32 in [0, 1]. */
export function pixelsToTensor(pixels: Uint8Array, n: number, h: number, w: number): tf.Tensor4D {
  if (pixels.length !== n * h * w * 3)
    throw new FaceMaeError(`pixel buffer has ${pixels.length} bytes, expected ${n}×${h}×${w}×3`);
  const f = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) f[i] = BYTE_TO_UNIT[pixels[i] as number] as number;
  return tf.tensor4d(f, [n, h, w, 3]);
}

/** Same-size RGB images -> [N, H, W, 3] float32 in [0, 1]. */
export function imagesToTensor(images: RgbImage[]): tf.Tensor4D {
  const first = images[0];
  if (!first) throw new FaceMaeError('imagesToTensor: no images');
  const { width: w, height: h } = first;
  const pixels = new Uint8Array(images.length * w * h * 3);
  images.forEach((img, k) => {
    if (img.width !== w || img.height !== h) {
      throw new FaceMaeError(`imagesToTensor: image ${k} is ${img.width}×${img.height}, expected ${w}×${h}`);
    }
    pixels.set(img.data, k * w * h * 3);
  });
  return pixelsToTensor(pixels, images.length, h, w);
}

/** [N, H, W, 3] float32 in [0, 1] -> RGB images (rounded, clamped). */
export async function tensorToImages(x: tf.Tensor4D): Promise<RgbImage[]> {
  const [n, h, w] = x.shape;
  const data = await x.data();
  const out: RgbImage[] = [];
  for (let k = 0; k < n; k++) {
    const px = new Uint8Array(h * w * 3);
    const off = k * h * w * 3;
    for (let i = 0; i < px.length; i++)
      px[i] = Math.min(255, Math.max(0, Math.round((data[off + i] as number) * 255)));
    out.push({ data: px, width: w, height: h });
  }
  return out;
}
