/** Named trainable parameters for the bench models, initialised from the project's seeded Rng. */
import { tf } from '../../src/engine/index.js';
import type { Rng } from '../../src/core/rng.js';

export class Params {
  readonly vars = new Map<string, tf.Variable>();
  constructor(private readonly rng: Rng) {}

  /** Truncated-free normal init scaled by `std` (or constant `fill`). */
  add(name: string, shape: number[], init: { std?: number; fill?: number }): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (init.fill !== undefined) data.fill(init.fill);
    else for (let i = 0; i < n; i++) data[i] = this.rng.normal() * (init.std ?? 0.02);
    const v = tf.variable(tf.tensor(data, shape), true, name);
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** AdamW (decoupled decay) and SGD-momentum over a Params set; slots are plain tensors. */
export function createOptimizer(
  params: Params,
  kind: 'adamw' | 'sgd',
  o: { lr: number; wd: number; beta1?: number; beta2?: number; momentum?: number },
): { step(grads: tf.NamedTensorMap): void; dispose(): void } {
  const m = new Map<string, tf.Tensor>();
  const v = new Map<string, tf.Tensor>();
  let t = 0;
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.95;
  const mu = o.momentum ?? 0.9;
  return {
    step(grads) {
      t++;
      for (const [name, p] of params.vars) {
        const g = grads[name];
        if (!g) continue;
        const decay = p.rank > 1 ? o.wd : 0;
        if (kind === 'adamw') {
          const [nm, nv, np] = tf.tidy(() => {
            const m0 = m.get(name) ?? tf.zerosLike(p);
            const v0 = v.get(name) ?? tf.zerosLike(p);
            const m1 = tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1));
            const v1 = tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2));
            const step = tf.div(tf.div(m1, 1 - b1 ** t), tf.add(tf.sqrt(tf.div(v1, 1 - b2 ** t)), 1e-8));
            const p1 = tf.sub(tf.mul(p, 1 - o.lr * decay), tf.mul(step, o.lr));
            return [m1, v1, p1];
          });
          m.get(name)?.dispose();
          v.get(name)?.dispose();
          m.set(name, nm);
          v.set(name, nv);
          p.assign(np);
          np.dispose();
        } else {
          const [nm, np] = tf.tidy(() => {
            const gd = decay ? tf.add(g, tf.mul(p, decay)) : g;
            const m0 = m.get(name);
            const m1 = m0 ? tf.add(tf.mul(m0, mu), gd) : tf.clone(gd);
            return [m1, tf.sub(p, tf.mul(m1, o.lr))];
          });
          m.get(name)?.dispose();
          m.set(name, nm);
          p.assign(np);
          np.dispose();
        }
      }
    },
    dispose() {
      for (const x of [...m.values(), ...v.values()]) x.dispose();
      m.clear();
      v.clear();
    },
  };
}
