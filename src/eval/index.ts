export * from './retrieval.js';
export * from './ann-index.js';
export * from './verification.js';
export * from './embed.js';
export * from './roc.js';
export * from './bootstrap.js';
