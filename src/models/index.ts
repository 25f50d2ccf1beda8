export * from './vit/index.js';
export * from './mae/index.js';
