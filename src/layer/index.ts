// The folder's face: layer decompression with caps, diff_id proofs, the tar walker and file trees.
// Other folders import them from here.
export * from './decompress.js';
export * from './diff-id.js';
export * from './tar.js';
export * from './tree.js';
export * from './verified-file.js';
