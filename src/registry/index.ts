// The folder's face: the registry client (HTTP, TLS, proxies, auth, credentials) and its per-host options.
// Other folders import them from here.

export { Lru } from '../util/index.js';
export * from './auth.js';
export * from './challenge.js';
export * from './client.js';
export * from './credentials.js';
export * from './http.js';
export * from './options.js';
export * from './ping.js';
export * from './referrers.js';
export * from './tags.js';
export * from './transport.js';
