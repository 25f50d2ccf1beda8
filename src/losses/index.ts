export * from './reconstruction.js';
export * from './irm.js';
