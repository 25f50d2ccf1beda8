/**
 * Learning-rate schedules, evaluated per iteration at a fractional position (facebookresearch/mae
 * util/lr_sched.py: `adjust_learning_rate(optimizer, epoch + i / len(loader))`). Positions are in
 * steps; give epochs by multiplying with steps per epoch (`stepsFromEpochs`).
 */
import { FaceMaeError } from '../core/errors.js';

export type ScheduleKind = 'cosine' | 'constant' | 'poly' | 'step';

export interface ScheduleConfig {
  kind: ScheduleKind;
  /** Peak learning rate (reached at the end of warm-up). */
  baseLr: number;
  /** Floor for cosine/poly. */
  minLr: number;
  /** Linear warm-up from 0 to baseLr over this many steps (fractional allowed). */
  warmupSteps: number;
  /** Total steps of the run (the cosine/poly reach minLr here). */
  totalSteps: number;
  /** poly: exponent (arcface_torch uses 2). */
  power?: number;
  /** step: multiply by `gamma` at each milestone (in steps). */
  milestones?: number[];
  gamma?: number;
}

export interface Schedule {
  readonly config: ScheduleConfig;
  /** Learning rate at (fractional) step `step`, 0-based. */
  lrAt(step: number): number;
}

/** Converts a count in epochs (fractional allowed) to steps. */
export function stepsFromEpochs(epochs: number, stepsPerEpoch: number): number {
  return epochs * stepsPerEpoch;
}

export function createSchedule(config: ScheduleConfig): Schedule {
  const c = config;
  if (!(c.baseLr >= 0) || !Number.isFinite(c.baseLr))
    throw new FaceMaeError(`lr must be a number >= 0, got ${c.baseLr}`);
  if (!(c.totalSteps > 0)) throw new FaceMaeError(`schedule needs totalSteps > 0, got ${c.totalSteps}`);
  if (!(c.warmupSteps >= 0) || c.warmupSteps > c.totalSteps) {
    throw new FaceMaeError(
      `warm-up (${c.warmupSteps} steps) must be between 0 and the run length (${c.totalSteps} steps)`,
    );
  }
  if (!(c.minLr >= 0) || c.minLr > c.baseLr)
    throw new FaceMaeError(`minLr must be in [0, lr=${c.baseLr}], got ${c.minLr}`);
  const lrAt = (step: number): number => {
    if (step < c.warmupSteps) return (c.baseLr * step) / c.warmupSteps;
    const span = Math.max(1e-12, c.totalSteps - c.warmupSteps);
    const frac = Math.min(1, Math.max(0, (step - c.warmupSteps) / span));
    switch (c.kind) {
      case 'constant':
        return c.baseLr;
      case 'cosine':
        return c.minLr + (c.baseLr - c.minLr) * 0.5 * (1 + Math.cos(Math.PI * frac));
      case 'poly':
        return c.minLr + (c.baseLr - c.minLr) * Math.pow(1 - frac, c.power ?? 2);
      case 'step': {
        const passed = (c.milestones ?? []).filter((m) => step >= m).length;
        return c.baseLr * Math.pow(c.gamma ?? 0.1, passed);
      }
    }
  };
  return { config: { ...c }, lrAt };
}
