// Notation (Notary Project v2) signatures: the verifier, and the pieces it is built from — the trust policy and
// trust store readers (notation's own files, read as they are), JWS/COSE envelopes, X.509 chain rules, RFC 3161
// timestamps, and signature discovery. Loads no Sigstore library.
export {
  checkNotationSignature,
  type LoadedStores,
  MAX_NOTATION_PAYLOAD_BYTES,
  type NotationCheckContext,
} from './check.js';
export {
  discoverNotationSignatures,
  MAX_NOTATION_SIGNATURES,
  type NotationDiscoverOptions,
  type NotationDiscovery,
  type NotationSignerInfo,
  notationSignerOf,
} from './discover.js';
export { MAX_NOTATION_ENVELOPE_BYTES, type OpenedEnvelope, openEnvelope } from './envelope.js';
export {
  identityMatches,
  LEVEL_ACTIONS,
  loadTrustPolicy,
  MAX_TRUST_POLICY_BYTES,
  MAX_TRUST_POLICY_STATEMENTS,
  parseTrustPolicy,
  selectStatement,
  subjectAttributesOf,
} from './policy.js';
export {
  checkRevocation,
  type LoadedCrl,
  loadCrls,
  MAX_CRL_BYTES,
  type RevocationResult,
} from './revocation.js';
export { MAX_TIMESTAMP_TOKEN_BYTES, type VerifiedTimestamp, verifyTimestampToken } from './timestamp.js';
export {
  defaultTrustPolicyPath,
  defaultTrustStoreDir,
  loadNamedTrustStores,
  MAX_TRUST_STORE_CERTIFICATES,
  MAX_TRUST_STORE_FILE_BYTES,
  MAX_TRUST_STORE_FILES,
  notationConfigDir,
  trustStoreFromFiles,
} from './truststore.js';
export * from './types.js';
export { createNotationVerifier, type NotationVerdict, type NotationVerifierOptions } from './verifier.js';
export {
  type Certificate,
  MAX_CERTIFICATE_BYTES,
  MAX_NOTATION_CERT_CHAIN,
  MAX_PARSED_CERTIFICATE_CACHE,
  parseCertificate,
} from './x509.js';
