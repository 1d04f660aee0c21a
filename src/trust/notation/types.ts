// The shapes the Notation verifier is built from: the trust store (named sets of X.509 roots), the trust policy
// (which store and identities a repository trusts, and how strictly each check is enforced), a signature as found
// next to an image, and the outcome of checking one. Notation's own files are read as they are (truststore/x509/…,
// trustpolicy.json); nothing in a signature is trusted before its check.
import type { Problem, SignerClaim } from '../verdict.js';

/** The artifact type of a Notation signature manifest (or, before spec v1.1, its config media type). */
export const NOTATION_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
/** The media type of the payload a Notation envelope signs: `{"targetArtifact": descriptor}`. */
export const NOTATION_PAYLOAD_MEDIA_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
/** A JWS envelope (flattened JSON serialization). */
export const NOTATION_JWS_MEDIA_TYPE = 'application/jose+json';
/** A COSE_Sign1_Tagged envelope. */
export const NOTATION_COSE_MEDIA_TYPE = 'application/cose';
/** The unsigned annotation listing the SHA-256 fingerprints of the chain (leaf first), for filtering only. */
export const NOTATION_THUMBPRINT_ANNOTATION = 'io.cncf.notary.x509chain.thumbprint#S256';

// ---- trust store ----

/** The kinds of named trust store Notation knows: signing CAs, signing authorities, timestamp authorities. */
export type TrustStoreType = 'ca' | 'signingAuthority' | 'tsa';

/** One certificate file of a named store, DER-decoded (a PEM file may hold several). */
export interface TrustStoreCertificate {
  /** the file it came from */
  file: string;
  der: Buffer;
}

/** A named trust store: `truststore/x509/<type>/<name>/` and the certificates in it. */
export interface NamedTrustStore {
  type: TrustStoreType;
  name: string;
  dir: string;
  certificates: TrustStoreCertificate[];
}

// ---- trust policy ----

/** `signatureVerification.level` of a trust policy statement. */
export type VerificationLevel = 'strict' | 'permissive' | 'audit' | 'skip';
/** The checks a level enforces or logs (Notary Project trust policy, "Signature Verification details"). */
export type VerificationCheck = 'integrity' | 'authenticity' | 'authenticTimestamp' | 'expiry' | 'revocation';
/** What a failed check does: fail the verification, be reported as a warning, or not run at all. */
export type CheckAction = 'enforce' | 'log' | 'skip';

/** A trusted identity: an X.509 subject DN, parsed (`x509.subject: C=US, ST=WA, O=Acme`). */
export interface TrustedIdentity {
  /** the entry as written, for messages */
  raw: string;
  /** the RDN attributes that must all be present, with equal values, in the signing certificate's subject */
  attributes: { type: string; value: string }[];
}

/** One statement of a trust policy document. */
export interface TrustPolicyStatement {
  name: string;
  /** fully qualified repositories (`registry.example/app`), or the single `*` */
  registryScopes: string[];
  level: VerificationLevel;
  /** the action of each check after the level and its overrides are applied */
  actions: Record<VerificationCheck, CheckAction>;
  /** `always` (default) or `afterCertExpiry` */
  verifyTimestamp: 'always' | 'afterCertExpiry';
  /** named stores, `{type: 'ca', name: 'acme'}` for `ca:acme` */
  trustStores: { type: TrustStoreType; name: string }[];
  /** `'*'` (any identity the stores vouch for) or the identities one of which must match */
  trustedIdentities: '*' | TrustedIdentity[];
}

/** A parsed and validated `trustpolicy.json` / `trustpolicy.oci.json`. */
export interface TrustPolicyDocument {
  version: '1.0';
  /** the file it was read from, for messages and the verdict */
  source: string;
  statements: TrustPolicyStatement[];
}

// ---- signatures ----

/** A Notation signature as found next to an image: the envelope bytes, checked against their descriptor. */
export interface NotationArtifact {
  /** where it was found: `referrer sha256:… (referrers API)`, `referrer sha256:… (tag sha256-…)` */
  origin: string;
  /** the signature manifest's digest */
  manifestDigest: string;
  /** the envelope blob's digest */
  envelopeDigest: string;
  /** the envelope layer's media type: {@link NOTATION_JWS_MEDIA_TYPE} or {@link NOTATION_COSE_MEDIA_TYPE} */
  mediaType: string;
  /** the envelope bytes (fetched by digest under a cap) */
  bytes: Buffer;
  /** the signature manifest's annotations (the thumbprint list: unsigned, a hint) */
  annotations: Record<string, string>;
}

/** The descriptor of what was signed: the verified manifest (or index) of the image. */
export interface NotationSubject {
  mediaType: string;
  digest: string;
  size: number;
}

/** The signed parts of an envelope, after its signature verified. */
export interface SignedEnvelope {
  format: 'jws' | 'cose';
  /** `notary.x509` or `notary.x509.signingAuthority` */
  signingScheme: 'notary.x509' | 'notary.x509.signingAuthority';
  /** JWS `alg` or the COSE algorithm as its JOSE name: PS256/384/512, ES256/384/512 */
  algorithm: string;
  /** `io.cncf.notary.signingTime` (x509) or `io.cncf.notary.authenticSigningTime` (signingAuthority) */
  signingTime?: Date | undefined;
  /** `io.cncf.notary.expiry`, when set */
  expiry?: Date | undefined;
  /** the certificate chain, leaf first, DER (unsigned header: it is checked, not trusted) */
  chain: Buffer[];
  /** the payload bytes (signed) */
  payload: Buffer;
  /** the signature bytes: what an RFC 3161 countersignature timestamps */
  signature: Buffer;
  /** the RFC 3161 timestamp token (DER), when the envelope carries one (unsigned header) */
  timestampToken?: Buffer | undefined;
  /** `io.cncf.notary.signingAgent` (unsigned, informative) */
  signingAgent?: string | undefined;
  /** the verification plugin a signature asks for (`io.cncf.notary.verificationPlugin`), when present */
  verificationPlugin?: string | undefined;
}

/** One certificate of a checked chain, for claims and the chain of trust. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  /** SHA-256 of the DER, lower-case hex */
  fingerprint: string;
  notBefore: string;
  notAfter: string;
}

/** A check that failed but was only logged by the trust policy's level (`permissive`, `audit`, overrides). */
export interface LoggedCheck {
  check: VerificationCheck;
  problem: Problem;
}

/** The outcome of checking one Notation signature. `ok` is exactly "no enforced problem". */
export interface NotationCheck {
  artifact: Pick<NotationArtifact, 'origin' | 'manifestDigest' | 'envelopeDigest' | 'mediaType'>;
  ok: boolean;
  /** enforced failures */
  problems: Problem[];
  /** failures the trust policy only logs */
  logged: LoggedCheck[];
  /** the signer, once the envelope verified and its leaf is known */
  claim?: SignerClaim | undefined;
  /** the checked chain, leaf first, ending at the trust-store root (when authenticity was established) */
  certificates: CertificateSummary[];
  /** the named store the chain ended in (`ca:acme`) */
  trustStore?: string | undefined;
  format?: 'jws' | 'cose' | undefined;
  signingScheme?: SignedEnvelope['signingScheme'] | undefined;
  signingTime?: string | undefined;
  expiry?: string | undefined;
  /** the verified RFC 3161 timestamp: its time and the TSA store it chained to */
  timestamp?: { time: string; trustStore: string } | undefined;
  /** revocation: `not checked (offline)` or the CRL result */
  revocation?: string | undefined;
}
