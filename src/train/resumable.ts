/**
 * What makes a training run resumable bit for bit, shared by the MAE and recognizer trainers:
 * the image order of epoch e and the flips of step s are functions of (seed, e) and (seed, s)
 * only, so a run resumed at any step replays exactly the batches the uninterrupted run would
 * have seen; a resumed run's JSON-lines logs drop what the killed run wrote after its checkpoint.
 */
import fs from 'node:fs';
import { createRng } from '../core/rng.js';
import { atomicWriteFileSync } from '../core/fs.js';
import { createLoader } from '../data/loader.js';
import { onceWarning } from '../data/image-folder.js';
import { tf } from '../engine/backend.js';
import type { FaceBatch } from '../types.js';
import type { FaceSource } from '../data/face-source.js';
import { subsetSource } from '../data/source.js';

/** The image order of epoch `epoch`, derived from the seed only. */
export function epochOrder(seed: number, epoch: number, n: number): number[] {
  return createRng(seed)
    .fork(`epoch-${epoch}`)
    .shuffle(Array.from({ length: n }, (_, i) => i));
}

/**
 * The image indices left to train on from `step` to the end of its epoch (or of the run), in the
 * epoch's order: whole batches of `batchSize`, `perEpoch` batches per epoch, out of `n` images.
 */
export function remainingEpochIndices(
  n: number,
  opts: { seed: number; step: number; perEpoch: number; totalSteps: number; batchSize: number },
): number[] {
  const epoch = Math.floor(opts.step / opts.perEpoch);
  const within = opts.step % opts.perEpoch;
  const batchesLeft = Math.min(opts.perEpoch - within, opts.totalSteps - opts.step);
  return epochOrder(opts.seed, epoch, n).slice(
    within * opts.batchSize,
    (within + batchesLeft) * opts.batchSize,
  );
}

/** Which of the n images of step `step` are mirrored (1) by flipForStep: a function of (seed, step). */
export function flipFlags(seed: number, step: number, n: number): Float32Array {
  const fr = createRng(seed).fork(`flip-${step}`);
  return Float32Array.from({ length: n }, () => (fr.next() < 0.5 ? 1 : 0));
}

/** Horizontal-flip augmentation of step `step`: images [N,H,W,3] -> [N,H,W,3], each flipped with p = 0.5. */
export function flipForStep(x: tf.Tensor4D, seed: number, step: number): tf.Tensor4D {
  const flags = flipFlags(seed, step, x.shape[0]);
  // arithmetic select: no gather (its gradient is missing on wasm) and no data-dependent shapes
  return tf.tidy(() => {
    const f = tf.tensor4d(flags, [flags.length, 1, 1, 1]);
    return tf.add(tf.mul(tf.reverse(x, 2), f), tf.mul(x, tf.sub(1, f))) as tf.Tensor4D;
  });
}

/** Appends one step's log line (epoch rounded, a timestamp added) to a JSON-lines log. */
export function appendLogLine(file: string, entry: { epoch: number }): void {
  fs.appendFileSync(
    file,
    JSON.stringify({ ...entry, epoch: Number(entry.epoch.toFixed(4)), time: new Date().toISOString() }) +
      '\n',
  );
}

/** Keeps only the JSON lines of `file` with `step <= step` (atomically). */
export function trimLog(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const keep = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => {
      try {
        return l.trim() !== '' && (JSON.parse(l) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
  atomicWriteFileSync(file, keep.map((l) => l + '\n').join(''));
}

/**
 * The batches of a run over `source` (a folder or a .rec) from `startStep` to `totalSteps`, epoch after epoch, each flipped for its
 * step when `flip`: images [N,size,size,3] (the caller disposes them) with the loader's batch
 * (labels, records). Bounded memory: one epoch's loader at a time.
 */
export async function* resumableBatches(
  source: FaceSource,
  opts: {
    seed: number;
    startStep: number;
    perEpoch: number;
    totalSteps: number;
    batchSize: number;
    size: number;
    flip: boolean;
    onWarning?: (message: string) => void;
  },
): AsyncGenerator<{ step: number; images: tf.Tensor4D; batch: FaceBatch }> {
  let step = opts.startStep;
  // one loader per epoch, but one "resizing images…" per run
  const onWarning = onceWarning(opts.onWarning);
  while (step < opts.totalSteps) {
    const loader = createLoader({
      source: subsetSource(source, remainingEpochIndices(source.length, { ...opts, step })),
      batchSize: opts.batchSize,
      size: opts.size,
      dropLast: true,
      onWarning,
    });
    for await (const batch of loader.epoch()) {
      let images = batch.images;
      if (opts.flip) {
        const flipped = flipForStep(images, opts.seed, step);
        images.dispose();
        images = flipped;
      }
      yield { step, images, batch };
      step += 1;
    }
  }
}
