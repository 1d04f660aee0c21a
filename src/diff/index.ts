// The folder's face: image diff by content (layers, diff_ids, files) and its renderings.
// Other folders import them from here.
export * from './diff.js';
export * from './files.js';
export * from './findings.js';
export * from './flatten.js';
export * from './history.js';
export * from './render.js';
