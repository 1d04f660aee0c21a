// The cosign verifier's building blocks: trust material, the check of one signature artifact, and the formats
// it reads (legacy `.sig`/`.att` layers, Sigstore bundles, simple-signing payloads, in-toto statements).

export * from '../attachments/index.js';
export { MAX_BUNDLE_BYTES, MAX_BUNDLE_ENTRIES } from './bundle.js';
export {
  checkArtifact,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  FULCIO_EXTENSIONS,
  fulcioExtensions,
  MAX_CERTIFICATE_CACHE,
} from './check.js';
export * from './discover.js';
export {
  COSIGN_SIGN_PREDICATE,
  INTOTO_PAYLOAD_TYPE,
  MAX_DSSE_ENVELOPE_BYTES,
  MAX_DSSE_SIGNATURES,
  MAX_INTOTO_SUBJECTS,
  PREDICATE_TYPES,
  predicateTypeUri,
} from './intoto.js';
export { ANNOTATION, MAX_CERT_CHAIN_LENGTH, MAX_COSIGN_ANNOTATION_BYTES } from './legacy.js';
export {
  MAX_SIMPLE_SIGNING_BYTES,
  SIMPLE_SIGNING_MEDIA_TYPE,
  SIMPLE_SIGNING_TYPE,
} from './simple-signing.js';
export {
  loadPublicKey,
  loadTrustedRoot,
  MAX_PUBLIC_KEY_PEM_BYTES,
  MAX_TRUSTED_ROOT_BYTES,
  MAX_TRUSTED_ROOT_ENTRIES,
} from './trusted-root.js';
export {
  type CachedTrustedRoot,
  cachedTrustedRoot,
  cachedTrustedRootInfo,
  MAX_SIGSTORE_TUF_METADATA_BYTES,
  MAX_SIGSTORE_TUF_ROOT_ROTATIONS,
  MAX_SIGSTORE_TUF_TIMESTAMP_BYTES,
  type RefreshOptions,
  type RefreshResult,
  refreshTrustedRoot,
  SIGSTORE_PUBLIC_GOOD_MIRROR,
  SIGSTORE_TRUSTED_ROOT_TARGET,
  sigstoreCacheDir,
} from './tuf.js';
export * from './types.js';
export { type CosignVerdict, type CosignVerifierOptions, createCosignVerifier } from './verifier.js';
