// Walk an image from its top manifest down: index → per-platform manifests → config (+ layer descriptors).
// Every node is fetched by the digest its verified parent names, so the whole tree is proven, top to bottom.
import type { Digest, Verified } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import {
  classifyEntry,
  type Descriptor,
  type EntryKind,
  formatPlatform,
  type ImageConfig,
  type ImageManifest,
  type Manifest,
  type Platform,
  platformMatches,
} from '../manifest/index.js';
import { readConfig } from '../source/helpers.js';
import type { ImageSource } from '../source/types.js';

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
  /** follow only entries matching this platform (attestations are still listed, not fetched) */
  platform?: Platform | undefined;
  /** fetch attestation/signature child manifests too */
  attestations?: boolean;
  concurrency?: number;
}

async function node(src: ImageSource, d: Descriptor, kind: EntryKind, opts: WalkOptions): Promise<ImageNode> {
  const manifest = await src.manifest(d);
  const n: ImageNode = { descriptor: d, kind, manifest, warnings: [] };
  if (opts.configs && manifest.value.kind === 'image') {
    n.config = await readConfig(src, manifest.value.config);
    if (kind === 'platform' && d.platform) {
      const c = n.config.value;
      if (
        c.os !== undefined &&
        c.architecture !== undefined &&
        (c.os !== d.platform.os || c.architecture !== d.platform.architecture)
      ) {
        n.warnings.push(
          `index says ${formatPlatform(d.platform)} but the config says ${c.os}/${c.architecture}${c.variant ? `/${c.variant}` : ''}`,
        );
      }
    }
  }
  return n;
}

/** Walk an image top-down, fetching every node by the digest its verified parent names. */
export async function walkImage(src: ImageSource, opts: WalkOptions = {}): Promise<ImageTree> {
  const top = await src.resolve();
  const root = await node(src, top, 'platform', {
    ...opts,
    configs: opts.configs && !isIndexDescriptor(top),
  });
  const children: ImageNode[] = [];
  const m = root.manifest.value;
  if (m.kind === 'index') {
    const wanted = m.manifests.filter((d) => {
      const kind = classifyEntry(d);
      if (kind === 'platform') return !opts.platform || platformMatches(opts.platform, d.platform);
      return opts.attestations === true && !opts.platform;
    });
    children.push(
      ...(await mapLimit(wanted, opts.concurrency ?? 6, (d) => node(src, d, classifyEntry(d), opts))),
    );
  }
  return { source: src, root, children };
}

function isIndexDescriptor(d: Descriptor): boolean {
  return d.mediaType.includes('index') || d.mediaType.includes('manifest.list');
}

/** Pick one platform's image from a walked tree (the image itself when it is not an index). */
export function selectPlatform(tree: ImageTree, platform: Platform | undefined): ImageNode {
  const m = tree.root.manifest.value;
  if (m.kind !== 'index') return tree.root;
  const plats = tree.children.filter((c) => c.kind === 'platform');
  const hit = platform ? plats.find((c) => platformMatches(platform, c.descriptor.platform)) : undefined;
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
      expected: platform ? formatPlatform(platform) : 'a --platform',
      found: available.join(', ') || 'no platform entries',
      hint: `choose one with --platform (${available.join(', ')})`,
    },
  );
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

export async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export type { Digest };
