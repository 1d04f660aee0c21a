// The folder's face: comparison of two images by content level (index › manifest › config › diff_ids).
// Other folders import them from here.
export * from './compare.js';
export * from './config-diff.js';
export * from './findings.js';
