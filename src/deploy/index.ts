export * from './load-mae.js';
export * from './reconstruct.js';
