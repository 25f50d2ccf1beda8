/**
 * Instance relation matching (IRM, the FaceMAE paper's second loss term, named as the paper
 * names it): the relations are between the instances (images) of a batch. A frozen
 * face-recognition network embeds the real batch and the reconstructed batch; each batch's
 * cosine-similarity matrix divided by a temperature τ is turned into row-wise softmax
 * distributions; the loss is KL(P_real ‖ P_rec) averaged over rows. The real side carries no
 * gradient (it is a fixed target); the reconstructed side back-propagates through the frozen
 * network into the MAE. Details (τ, KL direction, diagonal) are our choices: docs/METHOD.md.
 */
import { tf } from '../engine/backend.js';
import { FaceMaeError } from '../core/errors.js';
import type { FaceNet } from '../types.js';

export type KlDirection = 'real-rec' | 'rec-real' | 'symmetric';

export interface IrmConfig {
  /** Softmax temperature over cosine similarities (default 0.1). */
  temperature: number;
  /** Weight λ of the IRM term in the total loss (default 1). */
  weight: number;
  /** 'real-rec' = KL(P_real ‖ P_rec) (default), 'rec-real', or their mean. */
  direction: KlDirection;
  /** Leave out each sample's similarity to itself (default true: it is always 1/τ and carries no relation). */
  excludeDiagonal: boolean;
  /**
   * The teacher sees both batches averaged over blocks of this side and brought back to its input
   * size (bilinear); 1 = off (default). Its gradient then carries no detail finer than the factor, so a
   * strong IRM weight cannot paint the teacher's high-frequency texture into the reconstructions.
   */
  lowPass: number;
}

export const DEFAULT_IRM: IrmConfig = {
  temperature: 0.1,
  weight: 1,
  direction: 'real-rec',
  excludeDiagonal: true,
  lowPass: 1,
};

/** Identity forward, zero gradient (tfjs-core has no stopGradient op). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((a: tf.Tensor) => ({
    value: tf.clone(a),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as never);
  return f(x) as T;
}

/** Row-wise log-softmax of cosine similarities: e [N,D] (any norm) -> [N,N]. */
export function relationLogits(e: tf.Tensor2D, temperature: number, excludeDiagonal: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const n = e.shape[0];
    const z = tf.div(e, tf.sqrt(tf.add(tf.sum(tf.square(e), 1, true), 1e-12)));
    let s = tf.div(tf.matMul(z, z, false, true), temperature) as tf.Tensor2D;
    // a large negative constant on the diagonal (arithmetic mask, differentiable everywhere)
    if (excludeDiagonal) s = tf.sub(s, tf.mul(tf.eye(n), 1e4));
    return tf.logSoftmax(s) as tf.Tensor2D;
  });
}

/** KL(P‖Q) from log-probabilities [N,N], mean over rows; diagonal terms left out when asked. */
function klRows(logP: tf.Tensor2D, logQ: tf.Tensor2D, excludeDiagonal: boolean): tf.Scalar {
  const n = logP.shape[0];
  let terms = tf.mul(tf.exp(logP), tf.sub(logP, logQ));
  if (excludeDiagonal) terms = tf.mul(terms, tf.sub(1, tf.eye(n)));
  return tf.div(tf.sum(terms), n) as tf.Scalar;
}

/**
 * embReal, embRec [N,D] -> scalar IRM (unweighted). 0 when both batches have the same relations.
 * embReal is treated as a constant.
 */
export function irmFromEmbeddings(
  embReal: tf.Tensor2D,
  embRec: tf.Tensor2D,
  cfg: IrmConfig = DEFAULT_IRM,
): tf.Scalar {
  const minN = cfg.excludeDiagonal ? 3 : 2; // with 2 and no diagonal each row has one entry: no relation to match
  if (embReal.shape[0] < minN) {
    throw new FaceMaeError(
      `IRM needs a batch of at least ${minN} images, got ${embReal.shape[0]} (raise batchSize)`,
      'E_CONFIG',
      { key: 'batchSize' },
    );
  }
  if (!(cfg.temperature > 0))
    throw new FaceMaeError(`irm.temperature must be > 0, got ${cfg.temperature}`, 'E_CONFIG', {
      key: 'irm.temperature',
    });
  return tf.tidy(() => {
    const lr = stopGradient(relationLogits(embReal, cfg.temperature, cfg.excludeDiagonal));
    const lq = relationLogits(embRec, cfg.temperature, cfg.excludeDiagonal);
    switch (cfg.direction) {
      case 'real-rec':
        return klRows(lr, lq, cfg.excludeDiagonal);
      case 'rec-real':
        return klRows(lq, lr, cfg.excludeDiagonal);
      case 'symmetric':
        return tf.mul(
          tf.add(klRows(lr, lq, cfg.excludeDiagonal), klRows(lq, lr, cfg.excludeDiagonal)),
          0.5,
        ) as tf.Scalar;
    }
  });
}

/** Resizes [N,S,S,3] to the teacher's input size when they differ. */
function toTeacherSize(x: tf.Tensor4D, size: number): tf.Tensor4D {
  return x.shape[1] === size && x.shape[2] === size ? x : tf.image.resizeBilinear(x, [size, size], true);
}

/** Refuses a low-pass factor that is not an integer in [1, 8]. */
export function checkLowPass(lowPass: number): void {
  if (!Number.isInteger(lowPass) || lowPass < 1 || lowPass > 8)
    throw new FaceMaeError(`irm.lowPass must be an integer in [1, 8], got ${String(lowPass)}`, 'E_CONFIG', {
      key: 'irm.lowPass',
    });
}

/**
 * The teacher's embeddings of x [N,S,S,3] in [0,1] (resized to its input side; first downsampled
 * by `lowPass`, see IrmConfig) -> [N,D].
 */
export function teacherEmbeddings(teacher: FaceNet, x: tf.Tensor4D, lowPass = 1): tf.Tensor2D {
  checkLowPass(lowPass);
  return tf.tidy(() => {
    // a box filter (mean of each lowPass×lowPass block): its gradient is constant on each block
    const small = lowPass > 1 ? (tf.avgPool(x, lowPass, lowPass, 'valid') as tf.Tensor4D) : x;
    return teacher.apply(toTeacherSize(small, teacher.inputSize), false);
  });
}

/**
 * eReal [N,D] (the teacher's embeddings of the real batch, a fixed target), rec [N,S,S,3] in
 * [0,1] -> scalar IRM (unweighted). Gradients flow through the frozen teacher to `rec` only.
 * Computing eReal outside the gradient tape (or taking it from a cache) leaves the value as is.
 */
export function irmLossToTarget(
  teacher: FaceNet,
  eReal: tf.Tensor2D,
  rec: tf.Tensor4D,
  cfg: IrmConfig = DEFAULT_IRM,
): tf.Scalar {
  return tf.tidy(() =>
    irmFromEmbeddings(stopGradient(eReal), teacherEmbeddings(teacher, rec, cfg.lowPass ?? 1), cfg),
  );
}

/**
 * real, rec [N,S,S,3] in [0,1] -> scalar IRM (unweighted). `teacher` is frozen: its variables are
 * never handed to an optimizer; gradients flow through it to `rec` only.
 */
export function irmLoss(
  teacher: FaceNet,
  real: tf.Tensor4D,
  rec: tf.Tensor4D,
  cfg: IrmConfig = DEFAULT_IRM,
): tf.Scalar {
  return tf.tidy(() =>
    irmLossToTarget(teacher, teacherEmbeddings(teacher, real, cfg.lowPass ?? 1), rec, cfg),
  );
}
