/**
 * onnxruntime-web set-up: the wasm file is bundled next to the page (no CDN), so the page works from
 * any static host and, once the models are loaded, offline.
 */
import type * as Ort from 'onnxruntime-web/wasm';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import type { OnnxRunner } from '../../src/align/faceplugin-core.js';

export type OrtModule = typeof Ort;

/**
 * onnxruntime-web, loaded as its own chunk: its worker threads start from the URL of the module
 * that holds it, which must not be the page's script (that one touches the DOM).
 */
export async function loadOrt(): Promise<OrtModule> {
  const ort = await import('onnxruntime-web/wasm');
  ort.env.wasm.wasmPaths = { wasm: wasmUrl };
  // Threads need a cross-origin-isolated page (`facemae web` sends the headers); elsewhere one thread.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated
    ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1))
    : 1;
  return ort;
}

export async function openModel(ort: OrtModule, url: string): Promise<Ort.InferenceSession> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load model ${url}: HTTP ${res.status}`);
  return ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
}

/** An onnxruntime-web session as the float32 runner the shared faceplugin pipeline takes. */
export function runnerOf(ort: OrtModule, s: Ort.InferenceSession): OnnxRunner {
  return {
    async run(feeds) {
      const inputs: Record<string, Ort.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', v.data, v.dims);
      const out = await s.run(inputs);
      const res: Record<string, Float32Array> = {};
      for (const n of s.outputNames) res[n] = out[n]!.data as Float32Array;
      return res;
    },
    release: () => s.release(),
  };
}
