/** `npm run bench -- mae`: one ViT-MAE training step (fwd + bwd + AdamW), ours vs PyTorch. */
import { initEngine, tf, formatKernelProfile, resetKernelProfile } from '../src/engine/index.js';
import { createRng } from '../src/core/rng.js';
import { createMaeBench, MAE_BENCH } from './models/mae.js';
import { createOptimizer } from './models/params.js';
import { flags, num, report, runPeer, timeSteps, type Result } from './common.js';

export async function benchMae(argv: string[]): Promise<void> {
  const f = flags(argv);
  const batch = num(f, 'batch', 64);
  const steps = num(f, 'steps', 5);
  const warmup = num(f, 'warmup', 2);
  const info = await initEngine({ blas: f.get('blas') === 'off' ? 'off' : 'auto' });
  const cfg = { ...MAE_BENCH };
  console.log(
    `mae: ${cfg.img}px patch ${cfg.patch}, enc ${cfg.dim}-d x${cfg.depth} (${cfg.heads} heads), dec ${cfg.decDim}-d x${cfg.decDepth} ` +
      `(${cfg.decHeads} heads), mask ${cfg.maskRatio}, batch ${batch}, AdamW; backend ${tf.getBackend()}, ` +
      `BLAS ${info.blas ?? 'off'}, threads ${info.threads}; ${warmup} warm-up + ${steps} timed steps`,
  );
  const rng = createRng(7);
  const model = createMaeBench(cfg, rng.fork('model'));
  const opt = createOptimizer(model.params, 'adamw', { lr: 1.5e-4, wd: 0.05, beta1: 0.9, beta2: 0.95 });
  const imgs = tf.tensor4d(rng.fork('data').uniformArray(batch * cfg.img * cfg.img * 3), [
    batch,
    cfg.img,
    cfg.img,
    3,
  ]);
  const L = (cfg.img / cfg.patch) ** 2;
  const noiseRng = rng.fork('noise');
  const vars = [...model.params.vars.values()];
  let lastLoss = NaN;
  const step = (): void => {
    const noise = noiseRng.uniformArray(batch * L);
    const { value, grads } = tf.variableGrads(() => model.loss(imgs, noise), vars);
    opt.step(grads);
    lastLoss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
  };
  const ours: Result = timeSteps(step, batch, warmup, steps, resetKernelProfile);
  console.log(
    `tfjs: ${model.params.count()} parameters, loss ${lastLoss.toFixed(4)}, tensors ${tf.memory().numTensors}`,
  );
  if (process.env.FACEMAE_PROFILE === '1') console.log(formatKernelProfile(30));
  model.dispose();
  opt.dispose();
  imgs.dispose();
  const peer =
    f.get('peer') === 'off' ? null : runPeer('mae', { ...cfg, batch, steps, warmup, threads: info.threads });
  if (peer)
    console.log(
      `pytorch ${String(peer.torch)}: ${String(peer.params)} parameters, loss ${Number(peer.loss).toFixed(4)}, threads ${String(peer.threads)}`,
    );
  report('mae', ours, peer);
}
