export * from './config.js';
export * from './masking.js';
export * from './mae.js';
