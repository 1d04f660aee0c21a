export * from './digest.js';
export * from './stream.js';
export * from './verified.js';
