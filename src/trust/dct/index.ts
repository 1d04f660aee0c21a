// Docker Content Trust (Notary v1): the verifier, the trust store, archives, and the document-level models.
export { type ArchiveOptions, archiveTrust, type ImportOptions, importDockerTrust } from './archive.js';
export { inspectDctTrust, prettyTrustInfo, type TrustInfo, trustInfo } from './inspect.js';
export { canonicalKeyId, isX509, keyId, readKeyFile, type TufKey } from './keys.js';
export { type DctTrustOptions, type LoadedTrust, loadTrust, trustServerFor } from './load.js';
export { MAX_DELEGATION_PATHS, MAX_DELEGATIONS, MAX_ROLE_KEYS, MAX_SIGNATURES } from './metadata.js';
export {
  ARCHIVE_FORMAT,
  type ArchiveFile,
  FileSet,
  NotaryServer,
  openTrustArchive,
  type TrustSource,
} from './source.js';
export { type DctPin, TrustStore, trustpinHome } from './store.js';
export { parseSigner, type Resolution, resolveTag, type SignerRequirement } from './targets.js';
export {
  MAX_METADATA_LENGTH,
  MAX_ROOT_ROTATIONS,
  type RootTrust,
  type TrustedRepo,
  type UpdateOptions,
  updateTrust,
} from './updater.js';
export { createDctVerifier, type DctVerdict, type DctVerifierOptions, verdictError } from './verifier.js';
