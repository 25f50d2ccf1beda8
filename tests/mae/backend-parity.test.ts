import { describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../src/engine/backend.js';
import { createRng } from '../../src/core/rng.js';
import { createMae } from '../../src/models/mae/mae.js';
import { randomMasking } from '../../src/models/mae/masking.js';
import { maskedMse } from '../../src/losses/reconstruction.js';
import { TINY_TEST } from './helpers.js';

/** Loss and gradients of the test-size MAE on one backend. */
async function lossAndGrads(
  backend: 'cpu' | 'wasm',
): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  await initEngine({ backend });
  const rng = createRng(13);
  const mae = createMae(TINY_TEST, rng.fork('init'));
  const x = tf.tensor4d(rng.uniformArray(3 * 32 * 32 * 3), [3, 32, 32, 3]);
  const m = randomMasking(3, 16, 0.75, rng);
  const { value, grads } = tf.variableGrads(() => {
    const f = mae.forward(x, m);
    return maskedMse(f.pred, f.target, f.mask);
  }, Object.values(mae.variables));
  const byName: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(mae.variables)) byName[k] = grads[v.name]!.dataSync() as Float32Array;
  const loss = value.dataSync()[0]!;
  tf.dispose([value, x, ...Object.values(grads)]);
  mae.dispose();
  return { loss, grads: byName };
}

describe('MAE on wasm (with the engine kernels) vs the plain-JS cpu backend', () => {
  it('gives the same loss and gradients', async () => {
    const cpu = await lossAndGrads('cpu');
    const wasm = await lossAndGrads('wasm');
    expect(Math.abs(cpu.loss - wasm.loss)).toBeLessThan(1e-5);
    for (const [k, g] of Object.entries(cpu.grads)) {
      const w = wasm.grads[k]!;
      const scale = Math.max(1e-3, ...Array.from(g, Math.abs));
      const diff = Math.max(...Array.from(g, (v, i) => Math.abs(v - (w[i] as number))));
      expect(diff / scale, k).toBeLessThan(1e-3);
    }
  });
});
