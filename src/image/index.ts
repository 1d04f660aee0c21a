// The folder's face: the verified walk of an image (index → manifests → configs) and its inspect views.
// Other folders import them from here.
export * from './inspect.js';
export * from './resolve.js';
export * from './walk.js';
