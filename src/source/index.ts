// The folder's face: every place an image can live (registry, OCI layout, archives) behind ImageSource.
// Other folders import them from here.
export * from './archive.js';
export * from './helpers.js';
export * from './layout-format.js';
export * from './layout-fs.js';
export * from './oci-layout.js';
export * from './open.js';
export * from './pinned.js';
export * from './registry.js';
export * from './types.js';
