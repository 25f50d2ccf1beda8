/** The attack's view of a protection: defined with the pipeline that applies it (protect/protection.ts). */
export * from '../protect/protection.js';
