// Signature systems behind one contract: a TrustVerifier answers with a TrustVerdict whose chain of trust is one
// graph model, shared with the mirror proof. Docker Content Trust is the first implementation.
export {
  ChainBuilder,
  type ChainEdge,
  type ChainEdgeKind,
  type ChainGraph,
  type ChainNode,
  type ChainNodeKind,
  chainStep,
} from './chain.js';
export * from './dct/index.js';
export { type SignedDigest, verifySignedImage, verifySignedSource, verifyTagServes } from './image.js';
export { type MirrorOfOptions, type MirrorVerdict, verifyMirrorOf } from './mirror-of.js';
export {
  type Problem,
  problemOf,
  type SignerClaim,
  type TrustSubject,
  type TrustSystem,
  type TrustVerdict,
  type TrustVerifier,
  VERDICT_WARNING_CODES,
  type VerdictWarning,
  type VerdictWarningCode,
  type VerifyOptions,
} from './verdict.js';
