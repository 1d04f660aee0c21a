// The folder's face: small file-system helpers (atomic writes, locks).
// Other folders import them from here.
export * from './fs.js';
export * from './limit.js';
