export * from './load-mae.js';
export * from './masks.js';
