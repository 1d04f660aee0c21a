// What a pull must store: the manifests (exact bytes, each verified against the digest its parent names), the
// configs, and the layer blobs, deduplicated; plus which images get their diff_ids checked after download.
import { type Verified, verifyBytes } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { type ImageNode, selectPlatform, walkImage } from '../image/index.js';
import {
  artifactKind,
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type ImageConfig,
  type ImageManifest,
  isIndexType,
  type Platform,
  parseImageConfig,
  requirePlatform,
} from '../manifest/index.js';
import type { ImageSource } from '../source/index.js';
import { readVerifiedBlob } from '../source/index.js';

export interface PlannedImage {
  descriptor: Descriptor;
  platform: string;
  manifest: ImageManifest;
  /** parsed only for runnable images (artifacts such as attestations keep their bytes, unparsed) */
  config: Verified<ImageConfig>;
}

export interface StoredBytes {
  descriptor: Descriptor;
  bytes: Buffer;
  role: 'manifest' | 'config';
}

export interface PullPlan {
  /** what index.json will point at: the index with --all-platforms, else one image manifest */
  top: Descriptor;
  /** manifests and configs, verified in memory, written byte for byte */
  small: StoredBytes[];
  /** layer blobs (and artifact layers), streamed to disk while verified */
  layers: Descriptor[];
  /** runnable images, whose layers are checked against the config's diff_ids */
  images: PlannedImage[];
}

export interface PlanOptions {
  platform?: Platform | undefined;
  allPlatforms?: boolean;
  concurrency?: number;
  /** a config already stored locally (its bytes are verified here like any fetched ones) */
  local?: (d: Descriptor) => Promise<Buffer | undefined>;
}

function plain(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

export async function planPull(src: ImageSource, opts: PlanOptions = {}): Promise<PullPlan> {
  const all = opts.allPlatforms === true;
  const platform = opts.platform ?? (all ? undefined : hostPlatform());
  // a platform makes the walk read a single image's config, which the local store may already hold: a single image
  // is checked below, from the config wherever it comes from (resolve is memoised: the walk asks the same answer)
  const single = !isIndexType((await src.resolve()).mediaType);
  const tree = await walkImage(src, {
    configs: false,
    platform: all || single ? undefined : platform,
    attestations: all,
    concurrency: opts.concurrency ?? 4,
  });
  const isIndex = tree.root.manifest.value.kind === 'index';
  const nodes: ImageNode[] = !isIndex ? [tree.root] : all ? tree.children : [selectPlatform(tree, platform)];
  const top = all || !isIndex ? plain(tree.root.descriptor) : plain(nodes[0]!.descriptor);

  const small = new Map<string, StoredBytes>();
  const layers = new Map<string, Descriptor>();
  const images: PlannedImage[] = [];
  if (isIndex && all)
    small.set(tree.root.descriptor.digest, {
      descriptor: top,
      bytes: tree.root.manifest.bytes,
      role: 'manifest',
    });
  for (const n of nodes) {
    const m = n.manifest.value;
    if (m.kind !== 'image') {
      throw new TrustpinError(
        'MANIFEST_INVALID',
        `${n.descriptor.digest} is a ${m.kind === 'index' ? 'nested index' : 'schema 1 manifest'}, which pull cannot store`,
        {
          expected: 'an OCI or Docker v2 schema 2 image manifest',
          found: m.mediaType,
          hint:
            m.kind === 'index'
              ? 'pull one of its entries by digest'
              : 'convert it first (e.g. skopeo copy --format oci)',
        },
      );
    }
    small.set(n.descriptor.digest, {
      descriptor: plain(n.descriptor),
      bytes: n.manifest.bytes,
      role: 'manifest',
    });
    const stored = await opts.local?.(m.config);
    const cfg = stored
      ? verifyBytes(stored, { digest: m.config.digest, size: m.config.size, what: 'config' })
      : await readVerifiedBlob(src, m.config);
    // a single image has no entry to choose: an asked platform is checked against what its verified config says
    if (!isIndex && !all && opts.platform)
      requirePlatform(opts.platform, platformOfConfig(cfg.bytes), src.name);
    small.set(m.config.digest, { descriptor: plain(m.config), bytes: cfg.bytes, role: 'config' });
    for (const l of m.layers) layers.set(l.digest, plain(l));
    // attestations and signatures ride along as blobs; only images have a rootfs to prove
    const runnable = n.kind === 'platform' || (n.kind === 'unknown' && artifactKind(m) === undefined);
    if (!runnable) continue;
    images.push({
      descriptor: plain(n.descriptor),
      platform: formatPlatform(n.descriptor.platform ?? platformOfConfig(cfg.bytes)),
      manifest: m,
      config: parseImageConfig(cfg),
    });
  }
  return { top, small: [...small.values()], layers: [...layers.values()], images };
}

/** For a single-image pull the platform comes from the verified config (read here only for labels). */
function platformOfConfig(bytes: Buffer): Platform | undefined {
  try {
    const c = JSON.parse(bytes.toString('utf8')) as {
      os?: unknown;
      architecture?: unknown;
      variant?: unknown;
    };
    if (typeof c.os !== 'string' || typeof c.architecture !== 'string') return undefined;
    return {
      os: c.os,
      architecture: c.architecture,
      variant: typeof c.variant === 'string' ? c.variant : undefined,
    };
  } catch {
    return undefined;
  }
}
