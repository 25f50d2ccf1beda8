/**
 * Registers tfjs-core's gradient functions. tfjs-core's Node entry (tf-core.node.js) does not
 * include them, and its ESM files use extension-less relative imports that plain Node refuses;
 * vitest resolves them, plain `node` and tsx do not. So a resolve hook adds the `.js` for
 * tfjs-core's own files, then the gradient registry module is imported.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const HOOK = `
export async function resolve(specifier, context, next) {
  if (context.parentURL && context.parentURL.includes('/@tensorflow/tfjs-core/dist/') &&
      specifier.startsWith('.') && !specifier.endsWith('.js')) {
    try { return await next(specifier + '.js', context); } catch { return next(specifier + '/index.js', context); }
  }
  return next(specifier, context);
}`;

let done: Promise<void> | undefined;

/** Idempotent; resolves once tf.grad works (checked on the Sum gradient). */
export function ensureGradients(): Promise<void> {
  done ??= (async () => {
    if (tf.getGradient('Sum')) return;
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-core'));
    const file = pathToFileURL(path.join(dist, 'register_all_gradients.js')).href;
    // Install the hook before the first attempt: a failed ESM import stays cached as failed.
    if (typeof register !== 'function') {
      throw new Error(`tfjs gradients need Node >= 20.6 (module.register); this is Node ${process.version}`);
    }
    register('data:text/javascript,' + encodeURIComponent(HOOK));
    await import(file);
    if (!tf.getGradient('Sum')) throw new Error('tfjs gradients could not be registered');
  })();
  return done;
}
