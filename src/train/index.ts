export * from './optimizer.js';
export * from './schedule.js';
export * from './pretrain-mae.js';
export * from './mae-step.js';
export * from './eval-mae.js';
export * from './train-face.js';
export * from './fr-step.js';
