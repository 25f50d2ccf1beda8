/**
 * The one place the tensor backend is set up. Model code uses plain tfjs ops; this module
 * picks the backend and registers the project's kernels (see docs/PERFORMANCE.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendName = 'wasm' | 'cpu';

export interface EngineOptions {
  /** 'wasm' (default, fast) or 'cpu' (plain JS reference, used by gradient tests). */
  backend?: BackendName;
}

export interface EngineInfo {
  backend: BackendName;
}

let current: Promise<EngineInfo> | undefined;
let currentBackend: BackendName | undefined;

/** Idempotent: the first call sets the backend up, later calls with the same options return it. */
export function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  const backend = opts.backend ?? 'wasm';
  if (current && currentBackend === backend) return current;
  currentBackend = backend;
  current = (async () => {
    if (backend === 'wasm') {
      const require = createRequire(import.meta.url);
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      setWasmPaths(path.join(dir, 'dist') + path.sep);
    }
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`tensor backend "${backend}" failed to initialise`);
    await tf.ready();
    return { backend };
  })();
  return current;
}

export { tf };
