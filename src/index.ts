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
  type ImageNode,
  type ImageTree,
  type InspectImageJson,
  type InspectJson,
  imageManifest,
  inspectJson,
  selectPlatform,
  type WalkOptions,
  walkImage,
} from './image/index.js';
export type { Limits } from './layer/index.js';
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
export { type Credential, RegistryClient, type RegistryOptions } from './registry/index.js';
export type { ComparisonJson } from './report/index.js';
export {
  type ImageSource,
  OciLayoutSource,
  openArchiveSource,
  openOciLayout,
  openSource,
  RegistrySource,
  type RegistrySourceOptions,
  type Transport,
} from './source/index.js';
export type { UnpackResult, UnpackWarning, UnpackWarningCode } from './unpack/index.js';

// ---- trust (owned by src/trust/**): `export * from './trust/index.js';` goes here once that face exists ----
