// trustpin's stable library API (`import … from 'trustpin'`): what a user needs to prove an image by digest, by
// signature and by content. Everything else under src/ is internal and may change without notice.

export {
  type Basis,
  type ChangedFile,
  DIFF_FINDING_CODES,
  type DiffFinding,
  type DiffFindingCode,
  type DiffJson,
  type DiffMode,
  type DiffOptions,
  diffImages,
  type FileDiff,
  type ImageDiff,
  type SideInfo,
} from './diff/index.js';
// Digests, and bytes that were checked against one.
export {
  type Algorithm,
  type Digest,
  digestFile,
  digestOf,
  type Expectation,
  explainMismatch,
  isDigest,
  parseDigest,
  type Verified,
  VerifiedBytes,
  verifyBytes,
} from './digest/index.js';
// Errors: one class, a closed set of codes.
export {
  type ErrorCode,
  type ErrorDetails,
  isTrustpinError,
  OPERATIONAL_CODES,
  type OperationalCode,
  TrustpinError,
  VERIFICATION_CODES,
  type VerificationCode,
} from './errors/index.js';
// The verified walk and `inspect`.
export {
  type DigestResult,
  type ImageNode,
  type ImageTree,
  type InspectImageJson,
  type InspectJson,
  imageManifest,
  inspectJson,
  type ResolveOptions,
  resolveDigest,
  selectPlatform,
  type WalkOptions,
  walkImage,
} from './image/index.js';
// Bounds on layers: every input-size-dependent step has one (README: Limits).
export {
  DEFAULT_LIMITS,
  DEFAULT_TAR_LIMITS,
  DEFAULT_TREE_LIMITS,
  type Limits,
  MAX_ZSTD_WINDOW,
  type TarLimits,
  type TreeLimits,
  ZSTD_STALL_MS,
} from './layer/index.js';
// Manifests, configs and platforms (parsed only from verified bytes).
export {
  classifyEntry,
  type Descriptor,
  type EntryKind,
  formatPlatform,
  hostPlatform,
  type ImageConfig,
  type ImageManifest,
  type IndexManifest,
  MAX_JSON_DEPTH,
  MAX_VARIANT_LEVEL,
  type Manifest,
  MT,
  type Platform,
  parseImageConfig,
  parseManifest,
  parsePlatform,
  platformMatches,
  type Schema1Manifest,
} from './manifest/index.js';
// Mirrors and diffs: sameness by content.
export {
  type Attestation,
  type CompareOptions,
  type Comparison,
  compareImages,
  type Finding,
  LEVELS,
  type Level,
  MIRROR_FINDING_CODES,
  type MirrorFinding,
  type MirrorFindingCode,
  type PlatformResult,
  type Side,
} from './mirror/index.js';
// Verified pull and safe unpack.
export {
  type BlobRole,
  type PullEvent,
  type PulledLayer,
  type PullOptions,
  type PullResult,
  pull,
} from './pull/index.js';
// References, normalised like docker.
export {
  familiarString,
  formatReference,
  parseReference,
  type Reference,
  withDefaultTag,
  withDigest,
} from './reference/index.js';
// The registry client and where images live.
// Bounds on what registries and token servers send.
export {
  type Credential,
  MAX_TOKEN_RESPONSE,
  RegistryClient,
  type RegistryOptions,
} from './registry/index.js';
export type { ComparisonJson } from './report/index.js';
export {
  DEFAULT_CONFIG_CAP,
  DEFAULT_MANIFEST_CAP,
  type ImageSource,
  OciLayoutSource,
  openArchiveSource,
  openOciLayout,
  openSource,
  RegistrySource,
  type RegistrySourceOptions,
  type Transport,
} from './source/index.js';
// Signatures: Docker Content Trust, the verdict shape every system shares, the mirror proof, and the trust store.
// (src/trust/index.ts is the folder's face for other folders and exports more; this is the public part.)
export {
  type ArchiveOptions,
  archiveTrust,
  type ChainEdge,
  type ChainEdgeKind,
  type ChainGraph,
  type ChainNode,
  type ChainNodeKind,
  createDctVerifier,
  type DctPin,
  type DctTrustOptions,
  type DctVerdict,
  type DctVerifierOptions,
  type ImportOptions,
  importDockerTrust,
  inspectDctTrust,
  MAX_DELEGATION_PATHS,
  MAX_DELEGATIONS,
  MAX_METADATA_LENGTH,
  MAX_ROLE_KEYS,
  MAX_ROOT_ROTATIONS,
  MAX_SIGNATURES,
  type MirrorOfOptions,
  type MirrorVerdict,
  type Problem,
  prettyTrustInfo,
  type RootTrust,
  type SignerClaim,
  type TrustInfo,
  TrustStore,
  type TrustSubject,
  type TrustSystem,
  type TrustVerdict,
  type TrustVerifier,
  trustpinHome,
  VERDICT_WARNING_CODES,
  type VerdictWarning,
  type VerdictWarningCode,
  type VerifyOptions,
  verifyMirrorOf,
} from './trust/index.js';
export type { UnpackResult, UnpackWarning, UnpackWarningCode } from './unpack/index.js';
