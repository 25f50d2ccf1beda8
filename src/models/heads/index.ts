export * from './cosine-classifier.js';
