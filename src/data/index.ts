export * from './image-folder.js';
export * from './source.js';
export * from './loader.js';
