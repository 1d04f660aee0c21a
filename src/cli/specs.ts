// Every command's spec: name, arguments and flags (what commander must know before parsing) and where its
// action lives. Nothing here imports a library module; an action is imported only when its command runs.
import { type CommandSpec, collect } from './command.js';

const PLATFORM = '--platform <os/arch[/variant]>';
const ANY = 'any transport';

export interface InspectFlags {
  platform?: string;
  raw?: boolean;
  config?: boolean;
}
export const inspectSpec: CommandSpec<InspectFlags> = {
  name: 'inspect',
  description: 'show an image as a verified tree: index → platform manifests → config + layers',
  args: [
    {
      name: '<ref>',
      description: 'image: REF, docker://REF, oci:DIR[:TAG], docker-archive:FILE, oci-archive:FILE',
    },
  ],
  options: [
    { flags: PLATFORM, description: 'show only this platform' },
    { flags: '--raw', description: 'write the exact (verified) manifest bytes to stdout' },
    { flags: '--config', description: "print the image's verified config (JSON); an index needs --platform" },
  ],
  images: (args) => args,
  load: () => import('./inspect.js'),
};

export interface DigestFlags {
  platform?: string;
  file?: string;
  expect?: string;
  algorithm?: string;
}
export const digestSpec: CommandSpec<DigestFlags> = {
  name: 'digest',
  description: 'print the digest of an image (NAME@sha256:…) or of exact bytes (--file)',
  args: [
    {
      name: '[refs...]',
      description: `image references (${ANY}); several are resolved concurrently, each result printed and each failure reported (exit 2 if any failed operationally, else 1 if any failed verification)`,
    },
  ],
  options: [
    { flags: PLATFORM, description: "the platform manifest's digest instead of the index's" },
    { flags: '--file <path|->', description: 'digest the exact bytes of a file or stdin' },
    {
      flags: '--expect <digest>',
      description: 'exit 1 unless the image (one ref) or the --file bytes have this digest',
    },
    { flags: '--algorithm <sha256|sha512>', description: 'with --file: hash algorithm', default: 'sha256' },
  ],
  images: (args) => args,
  load: () => import('./digest.js'),
};

export interface TagsFlags {
  max?: string;
}
export const tagsSpec: CommandSpec<TagsFlags> = {
  name: 'tags',
  description: "list a repository's tags (following the registry's pagination)",
  args: [{ name: '<repo>', description: 'repository: alpine, ghcr.io/o/a, 127.0.0.1:5000/demo/app' }],
  options: [],
  images: (args) => args,
  load: () => import('./tags.js'),
};

export interface CompareFlags {
  platform?: string[];
  deep?: boolean;
  policy?: string;
}
export const compareSpec: CommandSpec<CompareFlags> = {
  name: 'compare',
  description:
    'prove two images are the same (index › manifest › config › diff_ids), per platform, and say why levels differ',
  args: [
    { name: '<a>', description: `first image (${ANY})` },
    { name: '<b>', description: `second image (${ANY})` },
  ],
  options: [
    { flags: PLATFORM, description: 'compare only this platform (repeatable)', parse: collect },
    {
      flags: '--deep',
      description: 'download the layers and compare their uncompressed digests when the configs differ',
    },
    {
      flags: '--policy <file>',
      description:
        'judge A by this trustpin policy first; compare only if it passes, by the digest that was judged',
    },
  ],
  images: (args) => args,
  load: () => import('./compare.js'),
};

export interface DiffFlags {
  platform?: string;
  semantic?: boolean;
  maxEntries: string;
  benign?: boolean;
  concurrency: string;
  policy?: string;
}
export const diffSpec: CommandSpec<DiffFlags> = {
  name: 'diff',
  description:
    'compare two images by content, file by file (history shown apart, as the unproven metadata it is)',
  args: [
    { name: '<a>', description: `first image (${ANY})` },
    { name: '<b>', description: `second image (${ANY})` },
  ],
  options: [
    { flags: PLATFORM, description: 'the platform to compare when a side is a multi-platform index' },
    {
      flags: '--semantic',
      description: 'ignore mtimes, tar order, layer boundaries and history/created/author',
    },
    {
      flags: '--benign',
      description: 'group the differences into known benign-looking classes (mtime only, same size, …)',
    },
    {
      flags: '--max-entries <n>',
      description: 'list at most N paths per section (counts stay complete)',
      default: '200',
    },
    {
      flags: '--concurrency <n>',
      description:
        'layers read at once (with parser threads, one per core up to N, threads + downloads layers may wait on disk)',
      default: '3',
    },
    {
      flags: '--policy <file>',
      description:
        'judge A by this trustpin policy first; compare only if it passes, by the digest that was judged',
    },
  ],
  images: (args) => args,
  load: () => import('./diff.js'),
};

export interface PullFlags {
  dest: string;
  platform?: string;
  allPlatforms?: boolean;
  unpack?: string;
  jobs: string;
  allowDevices?: boolean;
  preserveSetid?: boolean;
  maxLayerBytes?: string;
  policy?: string;
}
export const pullSpec: CommandSpec<PullFlags> = {
  name: 'pull',
  description:
    'download an image into an OCI layout with every blob verified, prove each layer against its diff_id, and optionally unpack it without path escapes',
  args: [{ name: '<ref>', description: `image to pull (${ANY})` }],
  options: [
    {
      flags: '--dest <oci:DIR[:TAG]>',
      description: 'OCI layout to write (created if missing)',
      required: true,
    },
    { flags: PLATFORM, description: 'platform to pull from an index (default: the host, linux/amd64 here)' },
    { flags: '--all-platforms', description: 'pull the whole index: every platform and attestation' },
    { flags: '--unpack <dir>', description: 'also unpack the image into this new or empty directory' },
    {
      flags: '--jobs <n>',
      description: 'parallel downloads (diff_id proofs: at most this many, and no more than the cores)',
      default: '4',
    },
    { flags: '--allow-devices', description: 'create device nodes when unpacking (only as root)' },
    { flags: '--preserve-setid', description: 'keep setuid/setgid bits when unpacking' },
    // the default is printed by the action's parser, not here: its value lives in the layer library
    {
      flags: '--max-layer-bytes <n>',
      description: 'largest uncompressed layer, e.g. 8G (default 64G; ratio cap 1000:1)',
    },
    {
      flags: '--policy <file>',
      description:
        'judge REF by this trustpin policy first; pull only what passes, by the digest that was judged',
    },
  ],
  images: (args) => args,
  load: () => import('./pull.js'),
};

export interface PinFlags {
  check?: boolean | string;
  update?: boolean;
  dryRun?: boolean;
  platform?: string;
  policy?: string;
  buildArg?: string[];
  include?: string[];
  exclude?: string[];
  format?: string;
  output?: string;
  concurrency?: string;
}
export const pinSpec: CommandSpec<PinFlags> = {
  name: 'pin',
  description:
    'pin image references in Dockerfiles, compose, Kubernetes, Helm values and workflows to verified digests (NAME:TAG@sha256:…)',
  args: [{ name: '[paths...]', description: 'files or directories (default: the current directory)' }],
  options: [
    {
      flags: '--check [stale]',
      description:
        'write nothing; exit 1 when a reference is unpinned, not pinnable or fails --policy (`--check=stale`: also when its tag now names another digest)',
    },
    {
      flags: '--update',
      description: 'also refresh TAG@DIGEST pins whose tag moved (verified before writing)',
    },
    { flags: '--dry-run', description: 'print the changes as a unified diff; write nothing' },
    { flags: PLATFORM, description: "pin this platform's manifest digest instead of the index digest" },
    {
      flags: '--policy <file>',
      description:
        'pin only what passes this trustpin policy (a failing reference is reported and left untouched); its mirrors resolve tags at the origin',
    },
    {
      flags: '--build-arg <NAME=VALUE>',
      description: 'a Dockerfile ARG value the build uses (repeatable)',
      parse: collect,
    },
    {
      flags: '--include <glob>',
      description: 'only files matching (repeatable; relative to the directory)',
      parse: collect,
    },
    { flags: '--exclude <glob>', description: 'leave files matching out (repeatable)', parse: collect },
    {
      flags: '--format <text|json|sarif>',
      description: 'the report format (sarif: findings with file:line:column)',
    },
    {
      flags: '--output <file>',
      description: 'write the report to FILE (atomically); a summary still goes to stdout',
    },
    { flags: '--concurrency <n>', description: 'references resolved at once', default: '8' },
  ],
  load: () => import('./pin.js'),
};

export const demoSpec: CommandSpec<Record<string, never>> = {
  name: 'demo',
  description:
    'run inspect, digest and compare against an embedded registry, and catch a lying one (no network needed)',
  load: () => import('./demo.js'),
};

/** In the order `trustpin --help` lists them (verify and trust are declared between compare and demo). */
export const BEFORE_TRUST = [
  inspectSpec,
  digestSpec,
  tagsSpec,
  compareSpec,
  diffSpec,
] as CommandSpec<never>[];
export const AFTER_TRUST = [demoSpec, pullSpec, pinSpec] as CommandSpec<never>[];
