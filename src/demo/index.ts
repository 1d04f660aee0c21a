// The folder's face: the in-memory registry and the deterministic image builder behind the demo and the
// tests (and trustpin/testing). Other folders import them from here.
export * from './build.js';
export * from './images.js';
export * from './registry-server.js';
export * from './sign.js';
