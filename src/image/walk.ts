// Walk an image from its top manifest down: index → per-platform manifests → config (+ layer descriptors).
// Every node is fetched by the digest its verified parent names, so the whole tree is proven, top to bottom.
import type { Digest, Verified } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import {
  bestPlatformMatch,
  classifyEntry,
  type Descriptor,
  type EntryKind,
  formatPlatform,
  type ImageConfig,
  type ImageManifest,
  type Manifest,
  MT,
  normalizePlatform,
  type Platform,
  requirePlatform,
} from '../manifest/index.js';
import type { ImageSource } from '../source/index.js';
import { DEFAULT_CONFIG_CAP, readConfig, readVerifiedBlob } from '../source/index.js';
import { mapLimit } from '../util/index.js';

/** One verified manifest of the tree (and its config when read). */
export interface ImageNode {
  descriptor: Descriptor;
  kind: EntryKind;
  manifest: Verified<Manifest>;
  /** set for image manifests when configs were read */
  config?: Verified<ImageConfig> | undefined;
  /** problems found while walking that do not stop the walk (e.g. config platform ≠ index platform) */
  warnings: string[];
}

/** An image walked from its top manifest: the root and, for an index, its children. */
export interface ImageTree {
  source: ImageSource;
  root: ImageNode;
  /** children of an index, in index order (attestations included, marked by `kind`) */
  children: ImageNode[];
}

/** Options of {@link walkImage}. */
export interface WalkOptions {
  /** read and verify each image config (small JSON); off for `digest` */
  configs?: boolean;
  /**
   * follow only the index entry that best matches this platform (attestations are not fetched); for a single image,
   * read its config, which is what says its platform
   */
  platform?: Platform | undefined;
  /** fetch attestation/signature child manifests too */
  attestations?: boolean;
  concurrency?: number;
  /** abandon the walk: every fetch is cancelled and the walk rejects with ABORTED */
  signal?: AbortSignal | undefined;
}

/** Config media types read as an image configuration; any other is an artifact's, verified but not parsed. */
const IMAGE_CONFIG_TYPES = new Set<string>([MT.ociConfig, MT.dockerConfig]);

async function node(src: ImageSource, d: Descriptor, kind: EntryKind, opts: WalkOptions): Promise<ImageNode> {
  const manifest = await src.manifest(d, { signal: opts.signal });
  const n: ImageNode = { descriptor: d, kind, manifest, warnings: [] };
  if (
    opts.configs &&
    manifest.value.kind === 'image' &&
    !IMAGE_CONFIG_TYPES.has(manifest.value.config.mediaType)
  ) {
    // an OCI artifact (a Helm chart, a Notation-signed file…): its config is proven by digest, not read as an image's
    await readVerifiedBlob(src, manifest.value.config, DEFAULT_CONFIG_CAP, opts.signal);
    n.warnings.push(
      `an artifact, not an image: its config (${manifest.value.config.mediaType}) was verified by digest, not parsed`,
    );
  } else if (opts.configs && manifest.value.kind === 'image') {
    n.config = await readConfig(src, manifest.value.config, opts.signal);
    if (kind === 'platform' && d.platform) {
      const c = n.config.value;
      if (c.os !== undefined && c.architecture !== undefined) {
        // compared in canonical form (aarch64 is arm64, arm64/v8 is arm64); a variant only when the config has one
        const want = normalizePlatform(d.platform);
        const have = normalizePlatform({ os: c.os, architecture: c.architecture, variant: c.variant });
        if (
          want.os !== have.os ||
          want.architecture !== have.architecture ||
          (c.variant !== undefined && want.variant !== have.variant)
        ) {
          n.warnings.push(
            `index says ${formatPlatform(d.platform)} but the config says ${c.os}/${c.architecture}${c.variant ? `/${c.variant}` : ''}`,
          );
        }
      }
    }
  }
  return n;
}

/** Walk an image top-down, fetching every node by the digest its verified parent names. */
export async function walkImage(src: ImageSource, opts: WalkOptions = {}): Promise<ImageTree> {
  const top = await src.resolve({ signal: opts.signal });
  const root = await node(src, top, 'platform', {
    ...opts,
    configs: (opts.configs || opts.platform !== undefined) && !isIndexDescriptor(top),
  });
  const children: ImageNode[] = [];
  const m = root.manifest.value;
  if (m.kind === 'index') {
    const platforms = m.manifests.filter((d) => classifyEntry(d) === 'platform');
    const best = opts.platform ? bestPlatformMatch(opts.platform, platforms) : undefined;
    const wanted = opts.platform
      ? best
        ? [best]
        : []
      : m.manifests.filter((d) => classifyEntry(d) === 'platform' || opts.attestations === true);
    children.push(
      ...(await mapLimit(wanted, opts.concurrency ?? 6, (d) => node(src, d, classifyEntry(d), opts))),
    );
  }
  return { source: src, root, children };
}

function isIndexDescriptor(d: Descriptor): boolean {
  return d.mediaType.includes('index') || d.mediaType.includes('manifest.list');
}

/**
 * Pick one platform's image from a walked tree: the index entry that best matches `platform`, or the image itself
 * when it is not an index — provided its verified config says it is that platform.
 * @throws TrustpinError PLATFORM_NOT_FOUND when nothing matches (or no platform is given for an index)
 */
export function selectPlatform(tree: ImageTree, platform: Platform | undefined): ImageNode {
  const m = tree.root.manifest.value;
  if (m.kind !== 'index') {
    if (platform) requirePlatform(platform, rootPlatform(tree), tree.source.name);
    return tree.root;
  }
  const plats = tree.children.filter((c) => c.kind === 'platform');
  const hit = platform
    ? bestPlatformMatch(
        platform,
        plats.map((c) => ({ platform: c.descriptor.platform, digest: c.descriptor.digest, c })),
      )?.c
    : undefined;
  if (hit) return hit;
  const available = m.manifests
    .filter((d) => classifyEntry(d) === 'platform')
    .map((d) => formatPlatform(d.platform));
  throw new TrustpinError(
    'PLATFORM_NOT_FOUND',
    platform
      ? `no ${formatPlatform(platform)} image in ${tree.source.name}`
      : `${tree.source.name} is a multi-platform index`,
    {
      expected: platform ? formatPlatform(platform) : 'a platform (option platform)',
      found: available.join(', ') || 'no platform entries',
      hint: `choose one with option platform (${available.join(', ')})`,
    },
  );
}

/** A single image's platform is what its verified config says (there is no index entry to say it). */
function rootPlatform(tree: ImageTree): Platform | undefined {
  const c = tree.root.config?.value;
  if (!c) {
    throw new TrustpinError(
      'INTERNAL',
      `the config of ${tree.source.name} was not read before choosing a platform`,
      {
        hint: 'walk the image with the platform option, or with configs',
      },
    );
  }
  if (c.os === undefined || c.architecture === undefined) return undefined;
  return { os: c.os, architecture: c.architecture, variant: c.variant, 'os.version': c['os.version'] };
}

/** The image manifest of a node; throws MANIFEST_INVALID when the node is an index. */
export function imageManifest(n: ImageNode): ImageManifest {
  const m = n.manifest.value;
  if (m.kind !== 'image') {
    throw new TrustpinError(
      'MANIFEST_INVALID',
      `${n.descriptor.digest} is not an image manifest (${m.mediaType})`,
    );
  }
  return m;
}

export type { Digest };
