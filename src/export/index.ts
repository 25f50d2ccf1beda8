export * from './onnx-builder.js';
export * from './onnx-mae.js';
