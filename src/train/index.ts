export * from './optimizer.js';
export * from './schedule.js';
export * from './checkpoint.js';
export * from './pretrain-mae.js';
// deploy/ and export/ have no barrel line in src/index.ts yet; exported through here.
export * from '../deploy/index.js';
export * from '../export/index.js';
export * from './eval-mae.js';
export * from './train-face.js';
