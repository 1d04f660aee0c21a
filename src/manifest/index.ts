export * from './config.js';
export { jsonDepth, MAX_JSON_DEPTH } from './json.js';
export * from './manifest.js';
export * from './media-types.js';
export * from './platform.js';
export * from './schema1.js';
