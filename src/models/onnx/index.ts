export * from './onnx-proto.js';
export * from './face-input.js';
export * from './import.js';
