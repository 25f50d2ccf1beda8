/**
 * Benchmarks of the product's own training steps against the same steps in PyTorch
 * (bench/peers/*.py, /usr/bin/python3 or FACEMAE_PYTHON), plus a leak soak and the browser app:
 *   npm run bench -- mae  [--batch 64 --steps 5 --warmup 2 --preset tiny|small|base --seed N]
 *   npm run bench -- irm  [same flags]   the MAE step with IRM through the faceplugin teacher
 *   npm run bench -- fr   [--backbone r-tiny|r18-half|r18|... --input-size 112 --classes 1000
 *                          --batch 64 --steps 3 --warmup 1 --seed N]
 *   npm run bench -- parrot [fr's flags]  the parrot attacker's fine-tuning step (mobileface, 112 px)
 *   npm run bench -- embed [--models faceplugin,tfjs:faceplugin,faceres,mobileface --images 256
 *                           --batch 32]  attacker embedding vs onnxruntime / PyTorch on the same file
 *   npm run bench -- gemm [--step fr|mae --backbone X --input-size N]  GEMM threads per shape
 *   npm run bench -- soak [--steps 1000 --every 100]
 *   npm run bench -- web  [--runs N]
 * mae/irm/fr/parrot/embed also take --blas off and --peer off. Each prints the CPU (lscpu model, SIMD flags),
 * img/s and peak RSS for ours and PyTorch, then `ratio:` (img/s, ours / pytorch) and `rss ratio:`.
 */
const [which = 'help', ...rest] = process.argv.slice(2);

const USAGE = `usage: npm run bench -- <bench> [flags]
  mae   the train-mae step (masked MSE, AdamW)         --batch 64 --steps 5 --warmup 2 --preset tiny --seed 0
  irm   the train-mae step with IRM (faceplugin)        same flags as mae
  fr    the train-fr step (backbone + margin, SGD)      --backbone r18-half --input-size 112 --classes 1000
                                                        --batch 64 --steps 3 --warmup 1 --seed 0
  parrot the parrot attacker's fine-tuning step       fr's flags; defaults: --backbone mobileface --input-size 112
        (mobileface, ArcFace head, SGD at lr 0.01)      --batch 64 --classes 1000
  embed the audit's attacker embedding vs onnxruntime/PyTorch on the same file
                                                        --models faceplugin,tfjs:faceplugin,faceres,mobileface
                                                        --images 256 --batch 32 --seed 0
  conv  = fr --backbone r18 (kept for old commands)
  gemm  one step's GEMM shapes on 1 thread vs all       --step fr|mae --backbone r-tiny --input-size 112 --batch 64
  soak  1,000 toy mae/fr steps: tensors and RSS flat   --steps 1000 --every 100
  web   the browser app in headless chromium            --runs N
  mae, irm, fr, parrot, embed: --blas off (no native BLAS), --peer off (skip the Python peer),
                --rounds N (N rounds of ours then PyTorch; ratio = median of the rounds)`;

try {
  switch (which) {
    case 'mae':
    case 'irm':
      await (await import('./mae.js')).benchMae(rest, { irm: which === 'irm' });
      break;
    case 'fr':
      await (await import('./fr.js')).benchFr(rest);
      break;
    case 'parrot':
      await (await import('./fr.js')).benchParrot(rest);
      break;
    case 'embed':
      await (await import('./embed.js')).benchEmbed(rest);
      break;
    case 'conv':
      await (await import('./fr.js')).benchFr(['--backbone', 'r18', ...rest]);
      break;
    case 'gemm':
      await (await import('./gemm.js')).benchGemm(rest);
      break;
    case 'web':
      await (await import('./web.js')).benchWeb(rest);
      break;
    case 'soak':
      await (await import('./soak.js')).benchSoak(rest);
      break;
    default:
      console.log(USAGE);
      if (which !== 'help') process.exitCode = 1;
  }
} catch (e) {
  // bad flags and failed steps: the message, not a stack
  console.error(`bench ${which}: ${(e as Error).message}`);
  process.exitCode = 1;
}
