// The folder's face: the verifying registry mirror (`trustpin serve mirror`) — a read-only distribution endpoint
// that serves only what the trust policy accepted, by digest, after hashing it. Other folders import it from here.
export { ContentCache } from './cache.js';
export {
  type Decision,
  Judge,
  type Known,
  MAX_MEMORY_MANIFEST,
  MAX_MEMORY_MANIFESTS,
  MAX_REMEMBERED,
} from './judge.js';
export { PolicyHolder } from './policy-file.js';
export {
  type ContentRoute,
  looksLikeHost,
  MAX_REPOSITORY_LENGTH,
  MAX_REQUEST_TARGET,
  parseRoute,
  type Route,
} from './route.js';
export {
  createMirrorServer,
  DEFAULT_TAG_TTL_MS,
  DEFAULT_UPSTREAM_CONCURRENCY,
  DEFAULT_VERDICT_TTL_MS,
  MAX_CONNECTIONS,
  type MirrorLogLine,
  type MirrorOptions,
  type MirrorServer,
  parseListen,
} from './server.js';
export { pumpVerified } from './stream.js';
export { parseUpstream, type Upstream, UpstreamClient } from './upstream.js';
