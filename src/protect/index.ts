export * from './distortions.js';
export * from './distort-dataset.js';
export * from './privacy-audit.js';
