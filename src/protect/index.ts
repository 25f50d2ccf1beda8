export * from './distortions.js';
