/**
 * Benchmarks: `npm run bench -- mae | conv | soak [--batch N --steps N --warmup N --blas off --peer off]`,
 * `npm run bench -- web [--runs N]` (the browser app in headless chromium, img/s).
 * Each prints img/s and peak RSS for tfjs (with the engine's kernels) and for the same model in
 * PyTorch (bench/peers/*.py, /usr/bin/python3), then `ratio: ours/pytorch`.
 */
const [which = 'help', ...rest] = process.argv.slice(2);

switch (which) {
  case 'mae':
    await (await import('./mae.js')).benchMae(rest);
    break;
  case 'conv':
    await (await import('./conv.js')).benchConv(rest);
    break;
  case 'web':
    await (await import('./web.js')).benchWeb(rest);
    break;
  case 'soak':
    await (await import('./soak.js')).benchSoak(rest);
    break;
  default:
    console.log(
      'usage: npm run bench -- mae|conv|soak|web [--batch N] [--steps N] [--warmup N] [--blas off] [--peer off] [--runs N]',
    );
    if (which !== 'help') process.exitCode = 1;
}
