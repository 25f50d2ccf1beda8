export * from './reconstruction.js';
export * from './irm.js';
export * from './margin.js';
export * from './cross-entropy.js';
