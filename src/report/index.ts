export * from './types.js';
export * from './render.js';
export * from './plot.js';
export * from './grid.js';
export * from './write.js';
