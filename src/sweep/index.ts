export * from './config.js';
export * from './runner.js';
export * from './sweep.js';
export * from './integrations.js';
export * from './cli-run.js';
