// The folder's face: small helpers (atomic writes, locks, the concurrency limiter, a bounded LRU, a memo).
// Other folders import them from here.

export * from './early.js';
export * from './fs.js';
export * from './limit.js';
export * from './lru.js';
export * from './memo.js';
export * from './shape.js';
