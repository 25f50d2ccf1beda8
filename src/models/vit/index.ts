export * from './patch.js';
export * from './pos-embed.js';
export * from './layers.js';
export * from './block.js';
