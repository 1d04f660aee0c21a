// The specs of `verify` and `trust …`: their flags, declared up front; the actions (verify.ts, trust.ts) and the
// trust libraries load only when one of these commands runs.
import { type CommandSpec, collect, type OptionSpec } from './command.js';

/** The Docker Content Trust flags shared by `verify --dct` and `trust …`. */
export interface TrustFlags {
  trustServer?: string;
  trustCa?: string;
  rootKeyId?: string[];
  signer?: string[];
  offline?: boolean;
  trustArchive?: string;
  asOf?: string;
  allowExpiredRoot?: boolean;
  /** false with --no-first-use */
  firstUse?: boolean;
}

const SERVER: OptionSpec = {
  flags: '--trust-server <url>',
  description:
    'notary server (default: $DOCKER_CONTENT_TRUST_SERVER, notary.docker.io for docker.io, else https://REGISTRY)',
};
const CA: OptionSpec = { flags: '--trust-ca <file>', description: 'CA certificate for the notary server' };
const ROOT_KEY: OptionSpec = {
  flags: '--root-key-id <id>',
  description: 'pin the root key: the ID `docker trust inspect` shows or the canonical ID (repeatable)',
  parse: collect,
};
const NO_FIRST_USE: OptionSpec = {
  flags: '--no-first-use',
  description: 'refuse a repository whose root is neither pinned nor cached (no trust on first use)',
};
const AS_OF: OptionSpec = {
  flags: '--as-of <time>',
  description: 'judge expiry and certificate validity at this time (RFC 3339 or YYYY-MM-DD)',
};

const TRUST_FLAGS: OptionSpec[] = [
  SERVER,
  CA,
  ROOT_KEY,
  NO_FIRST_USE,
  {
    flags: '--offline',
    description:
      'no network: DCT uses only the trust store for trust data; cosign verifies only OCI layouts and archives',
  },
  {
    flags: '--trust-archive <path>',
    description:
      "read trust data from an archive or a directory of TUF metadata (checked against the store's pin)",
  },
  AS_OF,
  {
    flags: '--allow-expired-root',
    description: 'accept an expired root certificate (reported); for forensics on archived data',
  },
];

const trustCa = async (args: string[], f: TrustFlags) =>
  (await import('./trust-flags.js')).trustCa(f, (await import('./trust-flags.js')).registriesOf(args));

/** The cosign flags of `verify --cosign` (cosign's names where the meaning is the same). */
export interface CosignFlags {
  cosign?: boolean;
  key?: string[];
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  certificateGithubWorkflowRepository?: string;
  certificateGithubWorkflowRef?: string;
  certificateGithubWorkflowTrigger?: string;
  certificateGithubWorkflowSha?: string;
  certificateGithubWorkflowName?: string;
  trustedRoot?: string;
  sigstoreMirror?: string;
  attestation?: string;
  signatureRepository?: string;
  insecureIgnoreTlog?: boolean;
  annotation?: string[];
  remapIdentity?: string[];
  identityRepository?: string;
}

/** The Notation flags of `verify --notation` (notation's names where the meaning is the same). */
export interface NotationFlags {
  notation?: boolean;
  trustPolicy?: string;
  trustStore?: string;
  scope?: string;
  userMetadata?: string[];
  maxSignatures?: string;
  crl?: string[];
}

export interface VerifyFlags extends TrustFlags, CosignFlags, NotationFlags {
  dct?: boolean;
  policy?: string;
  format?: string;
  output?: string;
  mirrorOf?: string;
  platform?: string[];
  deep?: boolean;
}

const COSIGN_FLAGS: OptionSpec[] = [
  { flags: '--cosign', description: 'use cosign (Sigstore) signatures and attestations' },
  {
    flags: '--key <file>',
    description: 'cosign: a PEM public key the signature must verify under (repeatable)',
    parse: collect,
  },
  {
    flags: '--certificate-identity <san>',
    description: 'cosign keyless: the signer (email or URI) the certificate must name',
  },
  {
    flags: '--certificate-identity-regexp <re>',
    description: 'cosign keyless: the signer as a regular expression',
  },
  {
    flags: '--certificate-oidc-issuer <url>',
    description: 'cosign keyless: the OIDC issuer the certificate must name',
  },
  {
    flags: '--certificate-oidc-issuer-regexp <re>',
    description: 'cosign keyless: the OIDC issuer as a regular expression',
  },
  {
    flags: '--certificate-github-workflow-repository <repo>',
    description: 'cosign keyless: required GitHub workflow repository (owner/name)',
  },
  {
    flags: '--certificate-github-workflow-ref <ref>',
    description: 'cosign keyless: required GitHub workflow ref (refs/heads/main)',
  },
  {
    flags: '--certificate-github-workflow-trigger <event>',
    description: 'cosign keyless: required GitHub workflow trigger (push)',
  },
  { flags: '--certificate-github-workflow-sha <sha>', description: 'cosign keyless: required commit SHA' },
  {
    flags: '--certificate-github-workflow-name <name>',
    description: 'cosign keyless: required workflow name',
  },
  {
    flags: '--trusted-root <file>',
    description: 'cosign: the Sigstore trusted_root.json (Fulcio CAs, Rekor, CT logs, TSAs) — read offline',
  },
  {
    flags: '--sigstore-mirror <url|dir>',
    description:
      'cosign: without --trusted-root, use the root `trustpin sigstore refresh` cached for this TUF mirror (default: the public one)',
  },
  {
    flags: '--attestation <predicate-type>',
    description:
      'cosign: verify attestations of this predicate type (URI or slsaprovenance, spdx, cyclonedx, vuln, openvex, custom)',
  },
  {
    flags: '--signature-repository <repo>',
    description: 'cosign: signatures are stored in this repository (COSIGN_REPOSITORY)',
  },
  {
    flags: '--insecure-ignore-tlog',
    description: 'cosign: accept keyed signatures with no transparency-log entry',
  },
  {
    flags: '-a, --annotation <key=value>',
    description: 'cosign: the signed payload must carry this annotation (repeatable)',
    parse: collect,
  },
  {
    flags: '--remap-identity <prefix=signed-prefix>',
    description:
      'cosign: images under PREFIX may be signed as SIGNED-PREFIX (a mirror of an origin; repeatable)',
    parse: collect,
  },
  {
    flags: '--identity-repository <repo>',
    description: 'cosign: for an OCI layout, the repository the signature must name',
  },
];

const NOTATION_FLAGS: OptionSpec[] = [
  { flags: '--notation', description: 'use Notation (Notary Project v2) signatures' },
  {
    flags: '--trust-policy <file>',
    description:
      'Notation: the trust policy (default: $XDG_CONFIG_HOME/notation/trustpolicy.oci.json, else trustpolicy.json)',
  },
  {
    flags: '--trust-store <dir>',
    description:
      'Notation: the trust store holding x509/{ca,signingAuthority,tsa}/NAME/ (default: notation’s)',
  },
  {
    flags: '--scope <registry/repository>',
    description: 'Notation: for an OCI layout, the repository whose trust policy statement applies',
  },
  {
    flags: '--user-metadata <key=value>',
    description: 'Notation: the signed payload must carry this annotation (repeatable)',
    parse: collect,
  },
  {
    flags: '--max-signatures <n>',
    description: 'Notation: most signatures examined per image (default 100)',
  },
];

export const verifySpec: CommandSpec<VerifyFlags> = {
  name: 'verify',
  description:
    'verify images by signature (Docker Content Trust, cosign or Notation) and by digest, and print the chain of trust',
  args: [
    {
      name: '<refs...>',
      description: 'image references (with --dct, with a tag; with --mirror-of, the mirror in any transport)',
    },
  ],
  options: [
    {
      flags: '--policy <file>',
      description:
        'judge every REF by this trustpin policy file (DCT, cosign, Notation, digest pins, mirrors in one file)',
    },
    {
      flags: '--format <text|json|sarif|html>',
      description: 'with --policy: the report format (default text; --json is --format json)',
    },
    {
      flags: '--output <file>',
      description: 'with --policy: write the report to FILE (atomically) instead of stdout',
    },
    { flags: '--dct', description: 'use Docker Content Trust (Notary v1)' },
    ...COSIGN_FLAGS,
    ...NOTATION_FLAGS,
    {
      flags: '--signer <name[:keyid]>',
      description: 'DCT: require this signer (delegation) to have signed the tag (repeatable)',
      parse: collect,
    },
    {
      flags: '--mirror-of <origin>',
      description: 'decide trust on ORIGIN, then prove REF is the same image',
    },
    {
      flags: '--platform <os/arch[/variant]>',
      description: 'with --mirror-of: compare only this platform (repeatable)',
      parse: collect,
    },
    { flags: '--deep', description: 'with --mirror-of: compare layer contents when configs differ' },
    ...TRUST_FLAGS,
  ],
  images: (args, f) => [
    ...(f.mirrorOf ? [f.mirrorOf, ...args] : args),
    ...(f.signatureRepository ? [f.signatureRepository] : []),
  ],
  ca: (args, f) =>
    f.cosign || f.notation
      ? Promise.resolve({})
      : trustCa(
          f.mirrorOf ? [f.mirrorOf] : args.filter((a) => !/^(oci|docker-archive|oci-archive):/.test(a)),
          f,
        ),
  load: () => import('./verify.js'),
};

const trustAction = (name: 'inspect' | 'archive' | 'importDocker') => () =>
  import('./trust.js').then((m) => ({ action: m[name] as never }));

export const trustSpecs: CommandSpec<never>[] = [
  {
    name: 'inspect',
    description: 'what `docker trust inspect` printed: signed tags, signers and administrative keys',
    args: [{ name: '<repos...>', description: 'REPO[:TAG]' }],
    options: [{ flags: '--pretty', description: 'the three human-readable tables' }, ...TRUST_FLAGS],
    images: (args) => args,
    ca: trustCa as never,
    load: trustAction('inspect'),
  },
  {
    name: 'archive',
    description: 'save every signed document the notary server has (all root versions too), for offline use',
    args: [
      { name: '<repos...>', description: 'REPO (the GUN is the full name, e.g. docker.io/nicolas/webdis)' },
    ],
    options: [
      { flags: '--out <path>', description: 'archive file to write', required: true },
      SERVER,
      CA,
      ROOT_KEY,
      NO_FIRST_USE,
    ],
    images: (args) => args,
    ca: trustCa as never,
    load: trustAction('archive'),
  },
  {
    name: 'key-id',
    description:
      'print the key ID of a public key or certificate file (docker/notary PEM, role: headers allowed)',
    args: [{ name: '<files...>', description: 'PEM files' }],
    local: true,
    load: () => import('./trust-key-id.js'),
  },
  {
    name: 'import-docker',
    description: "verify docker's cached trust data for a repository and make it trustpin's pin",
    args: [{ name: '<repos...>', description: 'REPO' }],
    options: [
      {
        flags: '--trust-dir <dir>',
        description: "docker's trust directory (default: $DOCKER_CONFIG/trust, ~/.docker/trust)",
      },
      ROOT_KEY,
      NO_FIRST_USE,
      AS_OF,
    ],
    load: trustAction('importDocker'),
  },
  {
    name: 'pin',
    description: "pin a repository's root key: later verifications accept only roots signed by it",
    args: [
      { name: '<repo>', description: 'REPO (e.g. docker.io/library/alpine)' },
      {
        name: '<keyids...>',
        description: 'root key IDs (as `docker trust inspect` or `trust key-id` print them)',
      },
    ],
    local: true,
    load: () => import('./trust-pin.js').then((m) => ({ action: m.pin as never })),
  },
  {
    name: 'forget',
    description: "remove a repository's cached trust data and pin (the next verification is a first use)",
    args: [{ name: '<repos...>', description: 'REPO' }],
    local: true,
    load: () => import('./trust-pin.js').then((m) => ({ action: m.forget as never })),
  },
];
