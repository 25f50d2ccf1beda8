/**
 * Gradient-test harness: runs the same tfjs computation on the wasm backend (with the project's
 * kernels) and on tfjs's plain-JS `cpu` backend, and compares outputs and gradients.
 */
import { expect } from 'vitest';
import { initEngine, tf } from '../../src/engine/index.js';
import { createRng, type Rng } from '../../src/core/rng.js';

export { tf };

export function randn(rng: Rng, shape: number[]): { shape: number[]; data: Float32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return { shape, data };
}

export const rngFor = (label: string): Rng => createRng(1234).fork(label);

type Spec = { shape: number[]; data: Float32Array };

/**
 * Evaluates f(...inputs) and d(sum(f·w))/d(inputs) on one backend, w a fixed random weight so
 * every output element contributes a distinct cotangent.
 */
function evalOn(
  backend: string,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: Spec[],
  w: Spec | null,
): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = inputs.map((s) => tf.tensor(s.data, s.shape));
    const y = f(...xs);
    const res: Float32Array[] = [y.dataSync() as Float32Array];
    if (w) {
      const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), tf.tensor(w.data, w.shape))));
      for (const gi of g(xs)) res.push(gi.dataSync() as Float32Array);
    }
    return res.map((r) => Float32Array.from(r));
  });
}

export function maxRelErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
  return err / scale;
}

/**
 * Asserts wasm (project kernels) == cpu (reference) for the output and, when `grad`, the gradient
 * of every input; errors relative to the largest reference magnitude. `reference` (default f)
 * is what runs on cpu, for ops the cpu backend gets wrong.
 */
export function checkAgainstCpu(
  label: string,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  shapes: number[][],
  {
    grad = true,
    tol = 1e-4,
    reference = f,
  }: { grad?: boolean; tol?: number; reference?: (...xs: tf.Tensor[]) => tf.Tensor } = {},
): void {
  const rng = rngFor(label);
  const inputs = shapes.map((s) => randn(rng, s));
  // the output shape is needed for the cotangent weights: run once on cpu without grads
  tf.setBackend('cpu');
  const outShape = tf.tidy(() => reference(...inputs.map((s) => tf.tensor(s.data, s.shape))).shape);
  const w = grad ? randn(rng, outShape) : null;
  const ref = evalOn('cpu', reference, inputs, w);
  const got = evalOn('wasm', f, inputs, w);
  tf.setBackend('wasm');
  ref.forEach((r, i) => {
    const e = maxRelErr(got[i]!, r);
    if (!(e <= tol))
      throw new Error(`${label}: ${i === 0 ? 'output' : `grad of input ${i - 1}`} rel err ${e}`);
  });
}

export async function setupEngine(blas: 'auto' | 'off'): Promise<{ blas: string | null }> {
  const info = await initEngine({ backend: 'wasm', blas });
  // make the cpu reference backend available in the same process
  tf.setBackend('cpu');
  await tf.ready();
  tf.setBackend('wasm');
  return info;
}
