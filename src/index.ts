/** Public API: re-exports only. Each area keeps its own barrel. */
export * from './types.js';
export { VERSION } from './version.js';
export * from './core/index.js';
export * from './config/index.js';
export * from './engine/index.js';
export * from './data/index.js';
export * from './models/index.js';
export * from './losses/index.js';
export * from './train/index.js';
export * from './deploy/index.js';
export * from './export/index.js';
export * from './eval/index.js';
export * from './loaders/index.js';
export * from './protect/index.js';
export * from './sweep/index.js';
export * from './report/index.js';
export * from './align/index.js';
export * from './serve/index.js';
