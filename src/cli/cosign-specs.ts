// The specs of `signatures` (what is attached to an image) and `sigstore …` (the Sigstore trusted root's TUF
// cache); their actions and the cosign library load only when one of these commands runs.
import type { CommandSpec } from './command.js';

export interface SignaturesFlags {
  signatureRepository?: string;
  depth?: string;
}

export const signaturesSpec: CommandSpec<SignaturesFlags> = {
  name: 'signatures',
  description:
    'the tree of what is attached to an image: cosign signatures and attestations, Sigstore bundles, Notation signatures, SBOMs (listed, not verified)',
  args: [{ name: '<ref>', description: 'image: REF, docker://REF, oci:DIR[:TAG] or oci-archive:FILE[:TAG]' }],
  options: [
    {
      flags: '--signature-repository <repo>',
      description: 'look in this repository instead of the image’s (COSIGN_REPOSITORY)',
    },
    { flags: '--depth <n>', description: 'levels of referrers of referrers to list (default 4)' },
  ],
  images: (args, f) => [...args, ...(f.signatureRepository ? [f.signatureRepository] : [])],
  load: () => import('./signatures.js'),
};

export interface SigstoreFlags {
  mirror?: string;
  root?: string;
}

const MIRROR = {
  flags: '--mirror <url|dir>',
  description: 'the Sigstore TUF repository (default https://tuf-repo-cdn.sigstore.dev), or a local copy',
};

export const sigstoreSpecs: CommandSpec<SigstoreFlags>[] = [
  {
    name: 'refresh',
    description:
      'update the cached Sigstore trusted root with TUF from the mirror, starting from a root.json you trust',
    options: [
      MIRROR,
      {
        flags: '--root <file>',
        description:
          'the TUF root.json you trust (never fetched); a cache reached from it continues from its newest root',
        required: true,
      },
    ],
    load: () => import('./sigstore.js').then((m) => ({ action: m.refresh })),
  },
  {
    name: 'status',
    description: 'the cached Sigstore trusted root: version, when it was refreshed, when it expires',
    options: [MIRROR],
    local: true,
    load: () => import('./sigstore.js').then((m) => ({ action: m.status })),
  },
];
