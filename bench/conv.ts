/** `npm run bench -- conv`: one IResNet + ArcFace training step (fwd + bwd + SGD momentum), ours vs PyTorch. */
import { initEngine, tf, formatKernelProfile, resetKernelProfile } from '../src/engine/index.js';
import { createRng } from '../src/core/rng.js';
import { createIResNetBench, IRESNET_BENCH } from './models/iresnet.js';
import { createOptimizer } from './models/params.js';
import { flags, num, report, runPeer, timeSteps } from './common.js';

export async function benchConv(argv: string[]): Promise<void> {
  const f = flags(argv);
  const batch = num(f, 'batch', 64);
  const steps = num(f, 'steps', 3);
  const warmup = num(f, 'warmup', 1);
  // tfjs autograd keeps every activation of the step, and wasm memory is 32-bit (4 GB): the batch
  // runs as micro-batches with gradients accumulated (BatchNorm statistics per micro-batch)
  const micro = Math.min(batch, num(f, 'micro', 16));
  if (batch % micro !== 0) throw new Error(`--batch (${batch}) must be a multiple of --micro (${micro})`);
  const arch = (f.get('arch') ?? 'r18') as 'r18' | 'r10';
  const cfg = IRESNET_BENCH[arch];
  if (!cfg) throw new Error(`--arch must be r18 or r10 (got "${arch}")`);
  const info = await initEngine({ blas: f.get('blas') === 'off' ? 'off' : 'auto' });
  console.log(
    `conv: IResNet-${arch.slice(1)} (layers ${cfg.layers.join(',')}, widths ${cfg.widths.join(',')}) at ${cfg.img}px -> ` +
      `${cfg.embedding}-d, ArcFace s=64 m=0.5 over ${cfg.classes} classes, batch ${batch} (${batch / micro} micro-batches ` +
      `of ${micro}), SGD momentum 0.9; ` +
      `backend ${tf.getBackend()}, BLAS ${info.blas ?? 'off'}, threads ${info.threads}; ${warmup} warm-up + ${steps} timed steps`,
  );
  const rng = createRng(11);
  const model = createIResNetBench(cfg, rng.fork('model'));
  const opt = createOptimizer(model.params, 'sgd', { lr: 0.1, wd: 5e-4, momentum: 0.9 });
  const imgs = tf.tensor4d(rng.fork('data').uniformArray(batch * cfg.img * cfg.img * 3), [
    batch,
    cfg.img,
    cfg.img,
    3,
  ]);
  const lr = rng.fork('labels');
  const labels = tf.tensor1d(
    Array.from({ length: batch }, () => lr.int(cfg.classes)),
    'int32',
  );
  const parts = batch / micro;
  const xs = Array.from({ length: parts }, (_, i) =>
    tf.slice(imgs, [i * micro, 0, 0, 0], [micro, -1, -1, -1]),
  );
  const ys = Array.from({ length: parts }, (_, i) => tf.slice(labels, [i * micro], [micro]));
  const vars = [...model.params.vars.values()];
  let lastLoss = NaN;
  const step = (): void => {
    let acc: tf.NamedTensorMap = {};
    let lossSum = 0;
    for (let i = 0; i < parts; i++) {
      const { value, grads } = tf.variableGrads(() => model.loss(xs[i]!, ys[i]!), vars);
      lossSum += value.dataSync()[0]!;
      const next: tf.NamedTensorMap = {};
      for (const [k, g] of Object.entries(grads)) {
        const prev = acc[k];
        next[k] = prev ? tf.add(prev, g) : g;
        if (prev) {
          prev.dispose();
          g.dispose();
        }
      }
      acc = next;
      value.dispose();
    }
    const mean = tf.tidy(() =>
      Object.fromEntries(Object.entries(acc).map(([k, g]) => [k, tf.div(g, parts)])),
    );
    opt.step(mean);
    tf.dispose([...Object.values(acc), ...Object.values(mean)]);
    lastLoss = lossSum / parts;
  };
  const ours = timeSteps(step, batch, warmup, steps, resetKernelProfile);
  console.log(
    `tfjs: ${model.params.count()} parameters, loss ${lastLoss.toFixed(4)}, tensors ${tf.memory().numTensors}`,
  );
  if (process.env.FACEMAE_PROFILE === '1') console.log(formatKernelProfile(30));
  model.dispose();
  opt.dispose();
  tf.dispose([imgs, labels, ...xs, ...ys]);
  const peer =
    f.get('peer') === 'off' ? null : runPeer('conv', { ...cfg, batch, steps, warmup, threads: info.threads });
  if (peer) {
    console.log(
      `pytorch ${String(peer.torch)}: ${String(peer.params)} parameters, loss ${Number(peer.loss).toFixed(4)}, threads ${String(peer.threads)}`,
    );
  }
  report('conv', ours, peer);
}
