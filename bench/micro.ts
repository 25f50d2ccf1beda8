/** `npx tsx bench/micro.ts`: per-kernel timings of the conv kernels at IResNet shapes (engine vs stock). */
import { initEngine, tf } from '../src/engine/index.js';
import { ctx } from '../src/engine/kernels/context.js';

await initEngine();
const shapes: [number[], number[], number][] = [
  [[16, 56, 56, 64], [3, 3, 64, 64], 1],
  [[16, 56, 56, 64], [3, 3, 64, 128], 2],
  [[16, 14, 14, 256], [3, 3, 256, 256], 1],
  [[16, 112, 112, 3], [3, 3, 3, 64], 1],
];
const time = (f: () => tf.Tensor, n = 3): number => {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f().dispose();
  return (performance.now() - t0) / n;
};
for (const [xs, ws, s] of shapes) {
  const x = tf.randomNormal(xs as [number, number, number, number]) as tf.Tensor4D;
  const w = tf.randomNormal(ws as [number, number, number, number]) as tf.Tensor4D;
  const y = tf.conv2d(x, w, s, 'same');
  const flops = (2 * y.size * ws[0]! * ws[1]! * ws[2]!) / 1e9;
  const fwd = time(() => tf.conv2d(x, w, s, 'same'));
  ctx.native = false;
  const fwdStock = time(() => tf.conv2d(x, w, s, 'same'));
  ctx.native = true;
  const bi = time(() =>
    tf.conv2dTranspose(y as tf.Tensor4D, w, xs as [number, number, number, number], s, 'same'),
  );
  const bf = time(() =>
    tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, s, 'same'), y)))(w),
  );
  const g = (ms: number) => `${ms.toFixed(1)} ms (${((flops / ms) * 1000).toFixed(1)} GFLOP/s)`;
  console.log(
    `x ${xs} w ${ws} s${s}: fwd ${g(fwd)} | fwd stock XNNPACK ${g(fwdStock)} | dInput ${g(bi)} | dFilter(+fwd) ${g(bf)}`,
  );
  tf.dispose([x, w, y]);
}
