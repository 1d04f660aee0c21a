// The one contract every signature system implements (DCT now; cosign, Notation and the policy engine next):
// a verifier answers "is this image signed by whom I trust?" with a verdict whose failures are coded problems.
import { type ErrorCode, TrustpinError } from '../errors/index.js';
import type { Reference } from '../reference/index.js';
import type { ChainGraph } from './chain.js';

/** The signature systems trustpin verifies. */
export type TrustSystem = 'dct' | 'cosign' | 'notation';

/** What was verified: the reference asked about and the digest trust was decided for. */
export interface TrustSubject {
  /** the reference as verified, e.g. `docker.io/library/alpine:3.20` */
  reference: string;
  /** the digest the signature covers (absent when verification failed before one was known) */
  digest?: string | undefined;
}

/** Who signed, as a discriminated union on `type` — one member per kind of signer identity. */
export type SignerClaim =
  | {
      /** Docker Content Trust: a role (targets or a delegation) signed the tag */
      type: 'dct';
      role: string;
      /** the delegation's name without `targets/` (`Repo Admin` for the targets role) */
      name: string;
      keyIds: string[];
    }
  | {
      /** cosign with a public key: the key's ID (hex SHA-256 of its DER SubjectPublicKeyInfo) */
      type: 'cosign-key';
      keyId: string;
    }
  | {
      /** cosign keyless: the Fulcio certificate's OIDC issuer and SAN, and the Fulcio extensions it carries */
      type: 'cosign-keyless';
      issuer: string;
      subject: string;
      /** e.g. githubWorkflowRepository, githubWorkflowRef, githubWorkflowTrigger, sourceRepositoryDigest */
      extensions?: Record<string, string> | undefined;
    }
  | { type: 'notation-x509'; subject: string; issuer?: string | undefined; fingerprint?: string | undefined };

/** A check that did not hold: a code a program can match on, and what was expected and found. */
export interface Problem {
  code: ErrorCode;
  message: string;
  expected?: string | undefined;
  found?: string | undefined;
  /** what to do next, in terms of library options */
  hint?: string | undefined;
}

/** Codes of the notes a verdict carries that do not make it fail. */
export const VERDICT_WARNING_CODES = [
  /** the root was accepted with no pin and no cached root: trusted on first use */
  'ROOT_FIRST_USE',
  /** a delegation (signer) was not used: expired or under-signed, as notary skips it */
  'DELEGATION_SKIPPED',
  /** the repository a signature names was not compared (an OCI layout carries no repository name) */
  'IDENTITY_NOT_CHECKED',
  /** a check failed, and the trust policy's level (permissive, audit, an override) logs it instead of failing */
  'CHECK_LOGGED',
  /** certificate revocation (OCSP/CRL) was not checked: offline and no CRL given */
  'REVOCATION_NOT_CHECKED',
  /** the trust policy's level is `skip`: the signature was not verified at all */
  'VERIFICATION_SKIPPED',
] as const;

/** A code of {@link VERDICT_WARNING_CODES}. */
export type VerdictWarningCode = (typeof VERDICT_WARNING_CODES)[number];

/** A non-fatal note in a verdict, with a code a program can match on. */
export interface VerdictWarning {
  code: VerdictWarningCode;
  message: string;
}

/** The answer of a {@link TrustVerifier}. `ok` is true exactly when `problems` is empty. */
export interface TrustVerdict {
  system: TrustSystem;
  subject: TrustSubject;
  ok: boolean;
  claims: SignerClaim[];
  chain: ChainGraph;
  problems: Problem[];
  /** non-fatal notes (a skipped expired delegation, a root accepted on first use) */
  warnings: VerdictWarning[];
}

/** Options for one `verify()` call. */
export interface VerifyOptions {
  /** abandon the verification (network calls are cancelled; the promise rejects with `ABORTED`) */
  signal?: AbortSignal | undefined;
  /**
   * the subject's top manifest as the caller already fetched it from the same repository (a policy evaluation
   * resolved the tag), or is fetching it (a promise; undefined when that failed): for a reference by digest it is
   * used instead of fetching the manifest again, once its bytes matched that digest (they are not trusted for being
   * given: bytes of another image are DIGEST_MISMATCH)
   */
  manifest?: KnownManifest | Promise<KnownManifest | undefined> | undefined;
}

/** A manifest's bytes as fetched by someone else, with the content type the registry gave. */
export interface KnownManifest {
  bytes: Buffer;
  contentType: string | undefined;
}

/**
 * A verifier for one signature system, created once (trust material loaded) and used for many verifications.
 * `verify` resolves to a verdict for verification failures and rejects only on operational failures (network,
 * authentication, usage).
 */
export interface TrustVerifier<V extends TrustVerdict = TrustVerdict> {
  readonly system: TrustSystem;
  verify(subject: string | Reference, options?: VerifyOptions): Promise<V>;
}

/** A verification failure turned into a problem; anything else is rethrown by the caller. */
export function problemOf(e: TrustpinError): Problem {
  return {
    code: e.code,
    message: e.message,
    ...(e.expected !== undefined ? { expected: e.expected } : {}),
    ...(e.found !== undefined ? { found: e.found } : {}),
    ...(e.hint !== undefined ? { hint: e.hint } : {}),
  };
}

/** At most this many problems (one per distinct failure) are listed in a verdict whose signatures all failed. */
const MAX_REPORTED_PROBLEMS = 16;
/** The problems a failure carries, for the verdict (see {@link failureWith}). */
const carried = new WeakMap<TrustpinError, Problem[]>();

/**
 * The verification error thrown when no signature verified: coded as the first problem, and carrying every
 * distinct one (same code and message once; at most 16) for the verdict, which reads them with
 * {@link problemsOfFailure}.
 */
export function failureWith(problems: Problem[]): TrustpinError {
  const seen = new Set<string>();
  const distinct = problems.filter((p) => {
    const key = `${p.code}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const p = distinct[0] ?? { code: 'SIGNATURE_INVALID' as const, message: 'no signature verified' };
  const e = new TrustpinError(p.code, p.message, p);
  carried.set(e, distinct.slice(0, MAX_REPORTED_PROBLEMS));
  return e;
}

/** The problems a verification failure puts in a verdict: those {@link failureWith} gave it, or its own. */
export function problemsOfFailure(e: TrustpinError): Problem[] {
  return carried.get(e) ?? [problemOf(e)];
}
