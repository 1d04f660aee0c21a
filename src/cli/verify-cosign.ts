// `verify --cosign`'s flags turned into a cosign verifier (cosign's flag names, trustpin's offline defaults).
import { readFileSync } from 'node:fs';
import { TrustpinError } from '../errors/index.js';
import {
  type CosignVerdict,
  cachedTrustedRoot,
  createCosignVerifier,
  SIGSTORE_PUBLIC_GOOD_MIRROR,
} from '../trust/cosign/index.js';
import type { TrustVerifier } from '../trust/index.js';
import { trustpinHome } from '../trust/index.js';
import type { Context } from './common.js';
import { parseAsOf } from './trust-flags.js';
import type { VerifyFlags } from './trust-specs.js';

function readFlagFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new TrustpinError('IO_ERROR', `cannot read ${flag} ${file}: ${(e as Error).message}`, {
      hint: `check the path given to ${flag}`,
    });
  }
}

function pairs(flag: string, list: string[] | undefined): [string, string][] {
  return (list ?? []).map((kv) => {
    const i = kv.indexOf('=');
    if (i <= 0)
      throw new TrustpinError('USAGE', `${flag} ${JSON.stringify(kv)} is not KEY=VALUE`, {
        expected: 'KEY=VALUE',
        found: kv,
      });
    return [kv.slice(0, i), kv.slice(i + 1)];
  });
}

/** --trusted-root, else the root `trustpin sigstore refresh` cached for --sigstore-mirror (no network either way). */
function trustedRoot(f: VerifyFlags): { trustedRoot?: Buffer; trustedRootSource?: string } {
  if (f.trustedRoot !== undefined)
    return { trustedRoot: readFlagFile('--trusted-root', f.trustedRoot), trustedRootSource: f.trustedRoot };
  const mirror = f.sigstoreMirror ?? SIGSTORE_PUBLIC_GOOD_MIRROR;
  const cached = cachedTrustedRoot({ mirror, home: trustpinHome() });
  if (cached) return { trustedRoot: cached, trustedRootSource: `the cached Sigstore root of ${mirror}` };
  if (f.sigstoreMirror !== undefined)
    throw new TrustpinError('NOT_FOUND', `no cached Sigstore trusted root for ${mirror}`, {
      hint: `trustpin sigstore refresh --mirror ${mirror} --root ROOT.json (once, online), or --trusted-root FILE`,
    });
  return {};
}

/** The cosign verifier `verify --cosign` runs with. */
export function cosignVerifier(f: VerifyFlags, ctx: Context): TrustVerifier<CosignVerdict> {
  const keyless =
    f.certificateIdentity !== undefined ||
    f.certificateIdentityRegexp !== undefined ||
    f.certificateOidcIssuer !== undefined ||
    f.certificateOidcIssuerRegexp !== undefined;
  if (!f.key?.length && !keyless)
    throw new TrustpinError('USAGE', 'verify --cosign needs a key or a keyless identity', {
      expected: '--key FILE, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp]',
      hint: 'cosign verify takes the same flags',
    });
  const wanted: [string, string | undefined][] = [
    ['githubWorkflowRepository', f.certificateGithubWorkflowRepository],
    ['githubWorkflowRef', f.certificateGithubWorkflowRef],
    ['githubWorkflowTrigger', f.certificateGithubWorkflowTrigger],
    ['githubWorkflowSha', f.certificateGithubWorkflowSha],
    ['githubWorkflowName', f.certificateGithubWorkflowName],
  ];
  const extensions = Object.fromEntries(wanted.filter((e): e is [string, string] => e[1] !== undefined));
  const now = parseAsOf(f.asOf);
  const asOf = f.asOf !== undefined;
  return createCosignVerifier({
    client: ctx.client,
    keys: (f.key ?? []).map((k) => readFlagFile('--key', k)),
    identities: keyless
      ? [
          {
            issuer: f.certificateOidcIssuer,
            issuerRegExp: f.certificateOidcIssuerRegexp,
            subject: f.certificateIdentity,
            subjectRegExp: f.certificateIdentityRegexp,
            extensions: Object.keys(extensions).length ? extensions : undefined,
          },
        ]
      : [],
    ...trustedRoot(f),
    requireTlog: !f.insecureIgnoreTlog,
    attestation: f.attestation,
    signatureRepository: f.signatureRepository ?? process.env.COSIGN_REPOSITORY,
    annotations: f.annotation ? Object.fromEntries(pairs('--annotation', f.annotation)) : undefined,
    remapIdentity: pairs('--remap-identity', f.remapIdentity).map(([prefix, signedPrefix]) => ({
      prefix,
      signedPrefix,
    })),
    identityRepository: f.identityRepository,
    offline: f.offline,
    now: () => (asOf ? now : Date.now()),
  });
}
