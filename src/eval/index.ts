export * from './retrieval.js';
export * from './ivf-index.js';
