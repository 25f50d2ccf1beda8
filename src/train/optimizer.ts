/**
 * Optimizers over named tf.Variables: AdamW (decoupled weight decay, as torch.optim.AdamW used by
 * facebookresearch/mae main_pretrain.py) and SGD with momentum (coupled L2 decay, as
 * insightface arcface_torch). Parameters are split into two groups following MAE's
 * `param_groups_weight_decay`: biases, norm gains, position embeddings and learned tokens get no
 * weight decay. Gradients can be clipped to a global L2 norm. The state (step count + slot
 * tensors) can be read out and restored, so a checkpoint resumes bit-identically.
 *
 * The learning rate is passed to every `step` call: the schedule lives outside (schedule.ts).
 */
import { tf } from '../engine/backend.js';
import { adamwUpdate, sgdUpdate, sumOfSquares } from '../engine/optim.js';
import { FaceMaeError } from '../core/errors.js';
import type { OptimizerKind, OptimizerState } from '../data/checkpoint.js';

export type { OptimizerKind, OptimizerState };

export interface OptimizerConfig {
  /** 'adamw' (MAE pre-training) or 'sgd' (momentum; face recognition). */
  kind: OptimizerKind;
  /** Weight decay for the decayed group (AdamW: decoupled; SGD: added to the gradient). */
  weightDecay: number;
  /** AdamW betas. MAE uses (0.9, 0.95). */
  beta1: number;
  beta2: number;
  eps: number;
  /** SGD momentum. */
  momentum: number;
  /** Clip gradients to this global L2 norm; 0 or undefined = no clipping. */
  clipNorm?: number;
}

export const DEFAULT_ADAMW: OptimizerConfig = {
  kind: 'adamw',
  weightDecay: 0.05,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  momentum: 0,
  clipNorm: 1.0,
};

export const DEFAULT_SGD: OptimizerConfig = {
  kind: 'sgd',
  weightDecay: 5e-4,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  momentum: 0.9,
  clipNorm: 5,
};

/**
 * True when a parameter should not be weight-decayed: 1-D tensors (biases, LayerNorm/BatchNorm
 * gains) and anything whose name marks it as a position embedding or a learned token.
 */
export function isNoDecay(name: string, shape: readonly number[]): boolean {
  if (shape.length <= 1) return true;
  return /(^|[/._])(bias|b|norm|ln|bn|gamma|beta|pos_?embed|pos|cls_?token|mask_?token|token)([/._]|$)/i.test(
    name,
  );
}

export interface StepResult {
  /** Global L2 norm of the gradients before clipping (NaN/Infinity when the gradients are not finite). */
  gradNorm: number;
}

export interface TrainOptimizer {
  readonly config: OptimizerConfig;
  /** Number of updates applied so far. */
  readonly iterations: number;
  /** Names (stable keys) of parameters in the decayed / not-decayed groups. */
  readonly groups: { decay: string[]; noDecay: string[] };
  /**
   * Applies one update. `grads` is keyed by the variable's tf name (what `tf.variableGrads`
   * returns) or by the stable key; missing gradients leave the parameter unchanged. The grads
   * are not disposed here.
   */
  step(grads: Record<string, tf.Tensor>, lr: number): StepResult;
  /** Copies of the slots (caller disposes them). */
  getState(): OptimizerState;
  /** Restores slots saved by getState (shapes checked; tensors are copied, the caller keeps ownership). */
  setState(state: OptimizerState): void;
  dispose(): void;
}

/**
 * params: stable name -> variable (names are used for the no-decay rule and in saved state), or
 * a plain array (then the variables' tf names are used).
 */
export function createOptimizer(
  params: Record<string, tf.Variable> | tf.Variable[],
  config: Partial<OptimizerConfig> & { kind: OptimizerKind },
  opts: { noDecay?: (name: string, shape: readonly number[]) => boolean } = {},
): TrainOptimizer {
  const base = config.kind === 'adamw' ? DEFAULT_ADAMW : DEFAULT_SGD;
  const cfg: OptimizerConfig = { ...base, ...config };
  for (const k of ['weightDecay', 'beta1', 'beta2', 'eps', 'momentum'] as const) {
    if (!Number.isFinite(cfg[k]) || cfg[k] < 0)
      throw new FaceMaeError(`optimizer.${k} must be a number >= 0, got ${cfg[k]}`);
  }
  const named: Record<string, tf.Variable> = Array.isArray(params)
    ? Object.fromEntries(params.map((v) => [v.name, v]))
    : { ...params };
  const byTfName = new Map<string, string>();
  for (const [key, v] of Object.entries(named)) byTfName.set(v.name, key);
  const rule = opts.noDecay ?? isNoDecay;
  const decay: string[] = [];
  const noDecay: string[] = [];
  for (const [key, v] of Object.entries(named)) (rule(key, v.shape) ? noDecay : decay).push(key);
  const noDecaySet = new Set(noDecay);

  const slotNames = cfg.kind === 'adamw' ? ['m', 'v'] : ['momentum'];
  let slots: Record<string, tf.Variable> = {};
  const makeSlots = () => {
    for (const [key, v] of Object.entries(named)) {
      for (const s of slotNames) slots[`${key}/${s}`] = tf.variable(tf.zerosLike(v), false);
    }
  };
  // zerosLike inside variable() leaks the initial tensor unless tidied.
  tf.tidy(makeSlots);
  let iterations = 0;

  const keyOf = (gradName: string): string | undefined =>
    named[gradName] !== undefined ? gradName : byTfName.get(gradName);

  return {
    config: cfg,
    get iterations() {
      return iterations;
    },
    groups: { decay, noDecay },
    step(grads, lr) {
      if (!Number.isFinite(lr)) throw new FaceMaeError(`learning rate must be finite, got ${lr}`);
      const entries: [string, tf.Tensor][] = [];
      for (const [name, g] of Object.entries(grads)) {
        const key = keyOf(name);
        if (key !== undefined) entries.push([key, g]);
      }
      const gradNorm = Math.sqrt(sumOfSquares(entries.map(([, g]) => g)));
      if (!Number.isFinite(gradNorm)) return { gradNorm };
      const gradScale =
        cfg.clipNorm && cfg.clipNorm > 0 && gradNorm > cfg.clipNorm ? cfg.clipNorm / (gradNorm + 1e-6) : 1;
      iterations += 1;
      for (const [key, g] of entries) {
        const p = named[key] as tf.Variable;
        const weightDecay = noDecaySet.has(key) ? 0 : cfg.weightDecay;
        if (cfg.kind === 'adamw') {
          const { beta1, beta2, eps } = cfg;
          const m = slots[`${key}/m`] as tf.Variable;
          const v = slots[`${key}/v`] as tf.Variable;
          adamwUpdate(p, g, m, v, { lr, beta1, beta2, eps, weightDecay, gradScale, t: iterations });
        } else {
          const buf = slots[`${key}/momentum`] as tf.Variable;
          sgdUpdate(p, g, buf, { lr, momentum: cfg.momentum, weightDecay, gradScale });
        }
      }
      return { gradNorm };
    },
    getState() {
      const out: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(slots)) out[k] = tf.clone(v);
      return { kind: cfg.kind, step: iterations, slots: out };
    },
    setState(state) {
      if (state.kind !== cfg.kind) {
        throw new FaceMaeError(`optimizer state is for "${state.kind}" but this optimizer is "${cfg.kind}"`);
      }
      for (const [k, v] of Object.entries(slots)) {
        const src = state.slots[k];
        if (!src) throw new FaceMaeError(`optimizer state is missing slot "${k}" (was the model changed?)`);
        if (src.shape.join(',') !== v.shape.join(',')) {
          throw new FaceMaeError(
            `optimizer slot "${k}" has shape [${src.shape}] but the parameter is [${v.shape}]`,
          );
        }
        v.assign(src);
      }
      iterations = state.step;
    },
    dispose() {
      for (const v of Object.values(slots)) v.dispose();
      slots = {};
    },
  };
}
