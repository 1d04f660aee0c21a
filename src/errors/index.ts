// One error type for the whole library: a closed set of codes, each with what was expected, what was found and
// what to do. The CLI maps the code's class to an exit code (verification failure → 1, everything else → 2).

/** Codes meaning "the content is not what it claims to be" (the CLI exits 1). */
export const VERIFICATION_CODES = [
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'SIZE_EXCEEDED',
  'MANIFEST_INVALID',
  'MEDIA_TYPE_MISMATCH',
  'DIGEST_UNVERIFIABLE',
  'BLOB_INVALID',
  'TUF_SIGNATURE_INVALID',
  'TUF_THRESHOLD_NOT_MET',
  'TUF_EXPIRED',
  'TUF_ROLLBACK',
  'TUF_HASH_MISMATCH',
  'TUF_METADATA_INVALID',
  'TUF_ROOT_ROTATION_FAILED',
  'TUF_ROOT_CHANGED',
  'TUF_CERT_INVALID',
  'TUF_DELEGATION_PATH',
  'TUF_TARGET_NOT_FOUND',
  'ROOT_KEY_MISMATCH',
  'SIGNER_MISMATCH',
  'TAG_MOVED',
  'PATH_ESCAPE',
  'LAYER_INVALID',
  'TRUST_DATA_NOT_FOUND',
  'FIRST_USE_REFUSED',
  'MIRROR_NOT_PROVEN',
  /** no signature (or attestation) of the asked-for system is attached to the image */
  'SIGNATURE_NOT_FOUND',
  /** a signature does not verify: tampered payload, wrong key, malformed signature */
  'SIGNATURE_INVALID',
  /** a valid signature (or attestation subject) names another image digest */
  'SIGNED_DIGEST_MISMATCH',
  /** the signed payload names another repository than the one asked about */
  'IDENTITY_MISMATCH',
  /** a signing certificate does not chain to the trusted root, or was not valid at the signing time */
  'CERTIFICATE_INVALID',
  /** a transparency-log entry (SET, inclusion proof, body) does not hold, or one is required and absent */
  'TLOG_INVALID',
  /** a signed timestamp does not verify, or none is available where one is required */
  'TIMESTAMP_INVALID',
  /** a verified payload is not of the expected type or shape */
  'PAYLOAD_INVALID',
  /** a required annotation of the signed payload is missing or different */
  'ANNOTATION_MISMATCH',
  /** a certificate chain does not end in a root of the trust store the policy names */
  'CERTIFICATE_UNTRUSTED',
  /** a signing certificate was not valid at the time it is judged at, and no trusted timestamp says otherwise */
  'CERTIFICATE_EXPIRED',
  /** a certificate of the signing chain is listed as revoked by a CRL that was given */
  'CERTIFICATE_REVOKED',
  /** the signature's own expiry (Notation `io.cncf.notary.expiry`) has passed */
  'SIGNATURE_EXPIRED',
  /** a signature envelope is malformed: bad encoding, an unknown critical header, `alg` not the key's, wrong media type */
  'ENVELOPE_INVALID',
  /** a trust policy requires the reference to carry a digest (`@sha256:…`) and it carries only a tag */
  'NOT_PINNED',
  /** no rule of the trust policy applies to the image, and the policy denies what no rule covers */
  'NO_MATCHING_RULE',
  /** none of a trust policy's `anyOf` alternatives held */
  'REQUIREMENT_NOT_MET',
  /** a pinned `NAME:TAG@DIGEST` whose tag now names another digest (`pin --check=stale`) */
  'PIN_STALE',
] as const;

/** Codes meaning "could not check" (the CLI exits 2). */
export const OPERATIONAL_CODES = [
  'USAGE',
  'REFERENCE_INVALID',
  'DIGEST_INVALID',
  'PLATFORM_NOT_FOUND',
  'PLATFORM_AMBIGUOUS',
  'MANIFEST_UNKNOWN',
  'BLOB_UNKNOWN',
  'NAME_UNKNOWN',
  'AUTH_REQUIRED',
  'AUTH_DENIED',
  'AUTH_TOKEN_FAILED',
  'CREDENTIAL_HELPER_FAILED',
  'REGISTRY_ERROR',
  'RATE_LIMITED',
  'NETWORK_ERROR',
  'TIMEOUT',
  'TLS_ERROR',
  'INSECURE_REFUSED',
  'ABORTED',
  'REDIRECT_REFUSED',
  'TRANSPORT_UNSUPPORTED',
  'SOURCE_INVALID',
  'NOT_FOUND',
  'TRUST_STORE_LOCKED',
  'OFFLINE',
  'IO_ERROR',
  /** a trusted root (trusted_root.json) or key given as trust material is unusable */
  'TRUSTED_ROOT_INVALID',
  /** a trust policy (trustpin's or Notation's) is unusable, or names no statement for the repository */
  'TRUST_POLICY_INVALID',
  /** a Notation trust store is missing, unreadable, or holds something that is not a certificate (or a symlink) */
  'TRUST_STORE_INVALID',
  /** the unpack target merges names (case, Unicode form) that the image keeps apart */
  'NAME_COLLISION',
  /** a file given to `pin` cannot be read as its format (invalid UTF-8 or YAML, too large, too deeply nested) */
  'PIN_FILE_INVALID',
  /** an AdmissionReview the webhook was sent is not one (not JSON, not admission.k8s.io/v1, no uid, too large) */
  'ADMISSION_INVALID',
  'INTERNAL',
] as const;

/** Codes for "the content is not what it claims": the CLI exits 1. */
export type VerificationCode = (typeof VERIFICATION_CODES)[number];
/** Codes for "could not check" (network, usage, input): the CLI exits 2. */
export type OperationalCode = (typeof OPERATIONAL_CODES)[number];
/** Every error code trustpin throws. */
export type ErrorCode = VerificationCode | OperationalCode;

/** What was expected, what was found, what to do next, and the underlying cause. */
export interface ErrorDetails {
  expected?: string;
  found?: string;
  hint?: string;
  cause?: unknown;
}

/** The one error type of the library: a code from a closed set, with expected/found/hint. */
export class TrustpinError extends Error {
  readonly code: ErrorCode;
  readonly expected: string | undefined;
  readonly found: string | undefined;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TrustpinError';
    this.code = code;
    this.expected = details.expected;
    this.found = details.found;
    this.hint = details.hint;
  }

  /** True when the error means "the content is not what it claims to be" rather than "could not check". */
  get isVerificationFailure(): boolean {
    return (VERIFICATION_CODES as readonly string[]).includes(this.code);
  }

  toJSON(): Record<string, string> {
    const out: Record<string, string> = { code: this.code, message: this.message };
    if (this.expected !== undefined) out.expected = this.expected;
    if (this.found !== undefined) out.found = this.found;
    if (this.hint !== undefined) out.hint = this.hint;
    return out;
  }
}

/** True when `e` is a {@link TrustpinError} (with `code`, when given). */
export function isTrustpinError(e: unknown, code?: ErrorCode): e is TrustpinError {
  return e instanceof TrustpinError && (code === undefined || e.code === code);
}
