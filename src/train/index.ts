export * from './optimizer.js';
export * from './schedule.js';
export * from './checkpoint.js';
