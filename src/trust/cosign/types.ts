// The shapes the cosign verifier is built from: a signature artifact as found next to an image (legacy `.sig` /
// `.att` layers or a Sigstore bundle referrer), the trust it is checked against, and the result of one check.
// Discovery produces SignatureArtifacts; check.ts turns each into a SignatureCheck; the verifier folds them into
// a verdict. Nothing in an artifact is trusted before its check: it is data fetched by digest.
import type { KeyObject } from 'node:crypto';
import type { Problem, SignerClaim } from '../verdict.js';

/** How a signature was stored. */
export type ArtifactFormat =
  /** a layer of the manifest tagged `sha256-<hex>.sig`: payload = simple-signing JSON, signature in annotations */
  | 'legacy-signature'
  /** a layer of the manifest tagged `sha256-<hex>.att`: payload = a DSSE envelope around an in-toto statement */
  | 'legacy-attestation'
  /** a Sigstore bundle (v0.1–v0.3), the one layer of an OCI referrer manifest (cosign v3's default) */
  | 'bundle';

/** One signature found next to an image, with its bytes already checked against the descriptor it came from. */
export interface SignatureArtifact {
  format: ArtifactFormat;
  /**
   * where it was found, for messages and the chain: `registry.example/app:sha256-….sig layer 1`,
   * `referrer sha256:… (referrers API)`, `referrer sha256:… (tag sha256-…)`
   */
  origin: string;
  /** digest of the manifest (the `.sig` manifest, or the referrer manifest) that held it */
  manifestDigest: string;
  /** digest of the layer (payload or bundle blob) */
  layerDigest: string;
  /** the layer's media type (legacy: the payload type; bundle: the bundle media type) */
  mediaType: string;
  /** legacy: the layer's annotations (signature, certificate, chain, Rekor bundle, RFC 3161 timestamp) */
  annotations: Record<string, string>;
  /** the layer bytes: legacy payload (simple-signing JSON or DSSE envelope), or the bundle JSON */
  bytes: Buffer;
  /** for a referrer: the manifest's `artifactType` and the `dev.sigstore.bundle.predicateType` annotation (hints) */
  artifactType?: string | undefined;
  predicateTypeHint?: string | undefined;
}

/** A trusted signer identity for keyless (Fulcio) signatures: issuer and subject, exact or regular expression. */
export interface KeylessIdentity {
  /** the OIDC issuer, exact (`https://token.actions.githubusercontent.com`) */
  issuer?: string | undefined;
  /** the OIDC issuer as a regular expression (anchored by the caller with ^…$ if wanted; matched as given) */
  issuerRegExp?: string | undefined;
  /** the certificate's SAN (email or URI), exact */
  subject?: string | undefined;
  subjectRegExp?: string | undefined;
  /**
   * Fulcio extensions that must equal the given value, by name (`githubWorkflowRepository`, `githubWorkflowRef`,
   * `githubWorkflowTrigger`, `githubWorkflowSha`, `githubWorkflowName`, `sourceRepositoryUri`, …) or dotted OID
   */
  extensions?: Record<string, string> | undefined;
}

/** What signatures are checked against; loaded once by the verifier (see trusted-root.ts). */
export interface CosignTrust {
  /** public keys a keyed signature may verify under (PEM SPKI already decoded), with their key IDs */
  keys: { keyId: string; key: KeyObject }[];
  /** identities a keyless signature's certificate must match (any one); empty = keyless not accepted */
  identities: KeylessIdentity[];
  /** the Sigstore trusted root (Fulcio CAs, Rekor and CT log keys, TSAs); opaque to callers */
  trustedRoot?: LoadedTrustedRoot | undefined;
  /**
   * require a transparency-log entry (Rekor SET or inclusion proof) — cosign's default. `false` is
   * `--insecure-ignore-tlog`: keyed signatures verify without a log; keyless ones then need a TSA timestamp.
   */
  requireTlog: boolean;
  /**
   * BYO-PKI (c/image `pki`, cosign `--certificate-chain`): PEM root certificates a signing certificate may chain
   * to instead of Fulcio. The leaf's key then verifies the signature like a public key; `identities` match its SAN.
   */
  caRoots?: Buffer[] | undefined;
  /** BYO-PKI intermediates (PEM) that may sit between a leaf and `caRoots` */
  caIntermediates?: Buffer[] | undefined;
}

/** A parsed, validated trusted_root.json (trusted-root.ts); `material` is what @sigstore/verify takes. */
export interface LoadedTrustedRoot {
  /** where it came from, for messages */
  source: string;
  /** @sigstore/verify TrustMaterial built from the root (the keyed keys are added per check) */
  material: unknown;
  /** summary for the chain of trust and `--json` */
  summary: {
    certificateAuthorities: number;
    tlogs: number;
    ctlogs: number;
    timestampAuthorities: number;
  };
}

/** What one artifact must prove about the image. */
export interface CheckContext {
  /** the verified digest of the image manifest (or index) being asked about */
  digest: string;
  /**
   * the repository the user asked about (`index.docker.io/library/alpine` form is normalised by the caller):
   * simple-signing `critical.identity.docker-reference` must name it. Undefined: not checked (OCI layout with
   * no reference given) and a warning is added by the caller.
   */
  repository?: string | undefined;
  /** more repositories accepted as the signed identity (a declared mirror → origin mapping) */
  acceptRepositories?: string[] | undefined;
  /** for an exact-tag check: the tag asked about (docker-reference `repo:tag` must then carry this tag) */
  tag?: string | undefined;
  /** annotations the simple-signing `optional` map must carry (`-a key=value`) */
  annotations?: Record<string, string> | undefined;
  /**
   * attestation mode: only in-toto statements with this predicate type count (`https://slsa.dev/provenance/v1`,
   * or cosign's short names `slsaprovenance`, `spdx`, `cyclonedx`, `vuln`, `custom` …); undefined = signatures
   */
  predicateType?: string | undefined;
  trust: CosignTrust;
  /**
   * the bytes whose digest is `digest` (the image manifest), if at hand: a message-signature bundle signs the
   * artifact itself, and Node cannot verify ECDSA over a bare digest. Without them such a bundle fails
   * (SIGNATURE_INVALID); DSSE bundles and legacy signatures never need them.
   */
  artifact?: Buffer | undefined;
  /** the time certificates are judged at when no signed time is available, and TUF/trusted-root freshness */
  now: Date;
}

/** The signed time a signature was judged at. */
export interface SignedTime {
  source: 'tlog' | 'timestamp-authority';
  time: string;
  /** for a tlog entry: the log's index and ID */
  logIndex?: string | undefined;
  logId?: string | undefined;
}

/** The outcome of checking one artifact. `ok` is exactly "no problems". */
export interface SignatureCheck {
  artifact: Pick<SignatureArtifact, 'format' | 'origin' | 'manifestDigest' | 'layerDigest'>;
  ok: boolean;
  problems: Problem[];
  /** who signed, once the signature verified (absent if the cryptography failed) */
  claim?: SignerClaim | undefined;
  /** the signing certificate's details (keyless): subject, issuer, Fulcio extensions, validity */
  certificate?:
    | {
        subject: string;
        issuer: string;
        notBefore: string;
        notAfter: string;
        extensions: Record<string, string>;
      }
    | undefined;
  /** transparency-log entries and timestamps that were verified */
  times: SignedTime[];
  /** simple-signing: the `critical.identity.docker-reference` signed */
  dockerReference?: string | undefined;
  /** the digest the payload names (simple-signing `docker-manifest-digest`, or the matching in-toto subject) */
  signedDigest?: string | undefined;
  /**
   * set when the signature verified but is of another kind than asked: the predicate type of an attestation
   * (another type, or any attestation when signatures were asked for), or `signature` when attestations were.
   * Such an artifact is no evidence either way; the verifier reports none found if nothing else is there.
   */
  otherKind?: string | undefined;
  /** attestations: the verified in-toto statement, parsed only after its signature held */
  statement?: InTotoStatement | undefined;
}

/** An in-toto v0.1/v1 statement as returned to callers (predicate left as data). */
export interface InTotoStatement {
  _type: string;
  predicateType: string;
  subject: { name?: string; digest: Record<string, string> }[];
  predicate?: unknown;
}
