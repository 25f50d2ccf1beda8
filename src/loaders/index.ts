/** Loading networks from files: the bundled faceplugin model, ONNX files, train-fr runs. */
export * from './face-net.js';
export * from './run-face-net.js';
export * from './embedders.js';
export * from './graph-model.js';
export * from './graph-model-specs.js';
export * from './verify-model.js';
