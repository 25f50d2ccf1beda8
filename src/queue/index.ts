export * from './connection.js';
export * from './shards.js';
export * from './worker.js';
export * from './producer.js';
