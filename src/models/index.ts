export * from './vit/index.js';
export * from './mae/index.js';
export * from './onnx/index.js';
export * from './backbones/index.js';
export * from './heads/index.js';
