// The policy file's model (what `loadPolicy` returns, paths resolved and trust roots read) and the verdicts
// `evaluate` gives: which rule applied to each image and why each requirement passed or failed.
import type { Comparison, Level } from '../mirror/index.js';
import type { ChainGraph, Problem, TrustVerdict, VerdictWarning } from '../trust/index.js';

/** The only `apiVersion` this release reads. */
export const POLICY_API_VERSION = 'trustpin.dev/v1alpha1';
/** The `kind` of a policy document. */
export const POLICY_KIND = 'TrustPolicy';

/** enforce: a failure blocks; warn: reported as a warning, never blocks; audit: recorded only. */
export type PolicyMode = 'enforce' | 'warn' | 'audit';
/** What happens to an image no rule's scope matches. */
export type NoMatch = 'deny' | 'warn' | 'allow';
/** require: a reference must carry `@sha256:…`; resolve: a tag is resolved to a digest once; ignore. */
export type DigestHandling = 'require' | 'resolve' | 'ignore';
/** The minimum equivalence a mirror must be proven at (`none` accepts the declared alias alone). */
export type ProveLevel = Level;
/** Where signatures of a mirrored image are read. */
export type SignatureLocation = 'origin' | 'mirror';

/** Where a value came from in the policy file, for messages: `file:line:column`. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** A certificate or key file read when the policy was loaded (bytes and the path they came from). */
export interface LoadedFile {
  path: string;
  bytes: Buffer;
}

/** A named trust root, read from local files or inline data. Exactly one kind. */
export type TrustRoot =
  | {
      kind: 'dct';
      name: string;
      /** canonical or root.json key IDs the repository's root must be signed with (64 hex each) */
      rootKeyIds: string[];
      /** notary server URL (default as docker: notary.docker.io for docker.io, else the registry host) */
      server?: string | undefined;
      /** PEM CA for the notary server's TLS */
      ca?: LoadedFile | undefined;
      /** trust data from an archive (`trustpin trust export`) or a notary metadata directory: offline */
      archive?: string | undefined;
      /** accept a repository seen for the first time without a pinned root (default false in a policy) */
      allowFirstUse: boolean;
    }
  | { kind: 'publicKey'; name: string; keys: LoadedFile[] }
  | { kind: 'sigstore'; name: string; trustedRoot: LoadedFile }
  | { kind: 'x509'; name: string; roots: LoadedFile[]; intermediates: LoadedFile[] }
  | {
      kind: 'notation';
      name: string;
      /** certificates of the trust store, by type (`ca`, `signingAuthority`, `tsa`) */
      ca: LoadedFile[];
      signingAuthority: LoadedFile[];
      tsa: LoadedFile[];
      /** CRLs to check revocation against, offline */
      crls: LoadedFile[];
    };

/** The keyless identity a cosign signature's certificate must carry (exact or regular expression). */
export interface CosignIdentity {
  issuer?: string | undefined;
  issuerRegExp?: string | undefined;
  subject?: string | undefined;
  subjectRegExp?: string | undefined;
  /** Fulcio extensions, e.g. `githubWorkflowRepository` */
  extensions?: Record<string, string> | undefined;
}

/** One requirement of a rule; `anyOf`/`allOf` nest. `at` is where it is written in the policy file. */
export type Requirement = (
  | { kind: 'digestPinned' }
  | {
      kind: 'dct';
      trustRoot: string;
      /** delegations (`releases`, or `releases:KEYID`) one of which must have signed the tag */
      signers: string[];
    }
  | {
      kind: 'cosign';
      /** trust roots: publicKey ones (keys), at most one sigstore one (keyless and transparency log) */
      trustRoots: string[];
      /** keyless identities, one of which must hold (empty with keys only) */
      identities: CosignIdentity[];
      /** `required` (cosign's default) or `optional` (= `--insecure-ignore-tlog`) */
      tlog: 'required' | 'optional';
      /** annotations the signed payload must carry */
      annotations?: Record<string, string> | undefined;
      /** attestations that must be present and verify, by in-toto predicate type */
      attestations: { predicateType: string }[];
    }
  | {
      kind: 'notation';
      trustRoot: string;
      level: 'strict' | 'permissive' | 'audit' | 'skip';
      /** `x509.subject: …` strings as notation's trustedIdentities, or `*` */
      identities: string[];
      userMetadata?: Record<string, string> | undefined;
    }
  | { kind: 'anyOf'; of: Requirement[] }
  | { kind: 'allOf'; of: Requirement[] }
) & { at: SourcePosition; path: string };

/** A mirror declaration: images under a mirror prefix are judged as the origin's, and proven equal by content. */
export interface MirrorSpec {
  /** `docker.io/library` */
  origin: string;
  /** `public.ecr.aws/docker/library`, … */
  mirrors: string[];
  prove: ProveLevel;
  /** where to look for signatures, in order; a requirement holds if it holds in one of them */
  signaturesFrom: SignatureLocation[];
  at: SourcePosition;
}

/** One rule: a scope, a mode and the requirements an image in scope must meet. */
export interface Rule {
  name: string;
  /** glob on the normalised reference: `*` one path segment, `**` any number; optional `:tag` / `@digest` part */
  scope: string;
  mode: PolicyMode;
  require: Requirement[];
  /** index in `rules` */
  index: number;
  at: SourcePosition;
}

/** A loaded, validated policy: what {@link evaluate} runs. */
export interface Policy {
  /** the file it was read from (or `<inline>`) */
  source: string;
  /** sha256 of the file's bytes */
  digest: string;
  defaults: {
    mode: PolicyMode;
    noMatch: NoMatch;
    digest: DigestHandling;
    /** `index`, or a platform (`linux/amd64`) the digest and the mirror proof are taken for */
    platform: string;
    /** `now` or an RFC 3339 instant (ms since the epoch once loaded) */
    verifyAt: 'now' | number;
  };
  trustRoots: Map<string, TrustRoot & { at: SourcePosition }>;
  mirrors: MirrorSpec[];
  rules: Rule[];
}

/** How one requirement came out. `skipped`: not evaluated (an earlier `anyOf` branch already held). */
export type RequirementStatus = 'pass' | 'fail' | 'error' | 'skipped';

/** The result of one requirement, in the shape of the policy's requirement tree. */
export interface RequirementResult {
  kind: Requirement['kind'];
  /** where it is in the policy: `rules[1].require[0].anyOf[1]` */
  path: string;
  at: SourcePosition;
  /** what it asked for, in words (`cosign signature by key team-key, with the transparency log`) */
  summary: string;
  status: RequirementStatus;
  /** why it failed (verification) or could not be decided (`error`: operational) */
  problems: Problem[];
  warnings: VerdictWarning[];
  /** where the signatures that decided it were read */
  from?: SignatureLocation | undefined;
  /** the signature system's own verdict (DCT, cosign, Notation) */
  verdict?: TrustVerdict | undefined;
  children?: RequirementResult[] | undefined;
}

/** The policy's answer for one image. */
export interface PolicyVerdict {
  /** the reference as given */
  reference: string;
  /** normalised like docker: `docker.io/library/alpine:3.20` */
  normalized: string;
  /** the digest everything was judged by (resolved once when the reference had none) */
  digest?: string | undefined;
  /** `REPOSITORY@DIGEST` to deploy, when it passed */
  pinned?: string | undefined;
  /** the rule that applied (absent when none matched) */
  rule?: { name: string; scope: string; index: number; at: SourcePosition } | undefined;
  mode: PolicyMode;
  /** when the image is a declared mirror: the origin it is judged as, and the proof */
  mirror?:
    | {
        origin: string;
        prove: ProveLevel;
        /** the origin image the mirror was compared with (by digest) */
        originPinned?: string | undefined;
        comparison?: Comparison | undefined;
        /** the level proven (the lowest over the compared platforms) */
        level?: Level | undefined;
        ok: boolean;
        graph?: ChainGraph | undefined;
      }
    | undefined;
  /** pass: every requirement held; fail: one did not (verification); error: one could not be decided */
  outcome: 'pass' | 'fail' | 'error';
  /** true when the image may be used: it passed, or its rule's mode (or noMatch) does not block */
  ok: boolean;
  requirements: RequirementResult[];
  /** the failing leaves' problems (and no-match, mirror-not-proven), for SARIF and the CLI */
  problems: Problem[];
  warnings: VerdictWarning[];
  /** the verification time, RFC 3339 */
  at: string;
}

/** `evaluate`'s answer for a batch of images. */
export interface PolicyReport {
  /** false when any image's outcome blocks (an enforce-mode fail or error, or a noMatch deny) */
  ok: boolean;
  policy: { source: string; digest: string };
  /** RFC 3339 */
  at: string;
  verdicts: PolicyVerdict[];
}
