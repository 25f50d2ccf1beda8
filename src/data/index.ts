export * from './image-folder.js';
export * from './source.js';
export * from './loader.js';
export * from './pickle.js';
export * from './bin-file.js';
export * from './pairs.js';
export * from './verification-set.js';
export * from './recordio.js';
