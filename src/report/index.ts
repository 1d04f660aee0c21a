// The folder's face: text renderings shared by the CLI commands (styles, chains, mirror ladders).
// Other folders import them from here.
export * from './chain.js';
export * from './html.js';
export * from './mirror.js';
export * from './pin.js';
export * from './policy.js';
export * from './sarif.js';
export * from './style.js';
