/**
 * Builds the in-browser app into dist/web (see scripts/build-web.mjs, which adds the models).
 * Relative base so the page works from any folder of any static host; nothing from a CDN.
 */
import path from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: path.resolve(import.meta.dirname, '../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // onnxruntime-web's wasm (~14 MB) stays a file next to the page
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2048,
  },
});
