// Flatten one image into a FileTree by streaming its proven layers through the tar parser: blob → verified temp
// file → decompressor (bomb limits) → tar entries, every file body hashed. Nothing is unpacked to disk.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Digest } from '../digest/index.js';
import type { Limits } from '../layer/index.js';
import {
  DEFAULT_TAR_LIMITS,
  FileTree,
  fetchVerifiedFile,
  type LayerEntry,
  readLayer,
  type TarLimits,
  type TreeLimits,
  walkTar,
} from '../layer/index.js';
import type { Descriptor, ImageConfig, ImageManifest } from '../manifest/index.js';
import type { ImageSource } from '../source/index.js';
import { Limiter, mapLimit } from '../util/index.js';
import type { DiffFinding } from './findings.js';

/** What a layer's tar looked like, beyond the tree it leaves: for strict mode's layer and order checks. */
export interface LayerFingerprint {
  /** the blob digest (compressed) */
  digest: Digest;
  /** sha256 of the decompressed tar, computed here */
  diffId: Digest;
  entries: number;
  /** sha256 over the entry names in tar order (whiteouts included) */
  order: string;
  /** sha256 over the sorted entry names: equal `names` with other `order` means only the order changed */
  names: string;
}

export interface ParsedLayer {
  fingerprint: LayerFingerprint;
  entries: { entry: LayerEntry; sha256?: string }[];
}

export interface FlatImage {
  tree: FileTree;
  layers: LayerFingerprint[];
  /** the config's diff_ids disagree with the layers (DIFF_ID_*), writes through symlinks, … */
  warnings: DiffFinding[];
  /** every layer decompresses to the diff_id the config claims for it, and there are as many of each */
  diffIdsHold: boolean;
}

export interface LayerReadOptions {
  limits?: Limits;
  tarLimits?: TarLimits;
  /** bounds on resolving paths through symlinks in the flattened tree (default DEFAULT_TREE_LIMITS) */
  treeLimits?: TreeLimits;
  /** layers read at once, shared by every image read through the same reader */
  concurrency?: number;
}

/**
 * Reads layers once per blob digest per run: two images that share a base layer pay for it once. Concurrency is
 * global to the reader because decompression and hashing compete for the same cores whatever image they serve.
 */
export class LayerReader {
  private readonly cache = new Map<string, Promise<ParsedLayer>>();
  private readonly limiter: Limiter;
  /** blob digests actually read (for reports and tests: a fast path reads none) */
  readonly read: string[] = [];

  constructor(readonly opts: LayerReadOptions = {}) {
    this.limiter = new Limiter(opts.concurrency ?? 3);
  }

  layer(src: ImageSource, d: Descriptor): Promise<ParsedLayer> {
    let p = this.cache.get(d.digest);
    if (!p) {
      p = this.limiter.run(() => parseLayer(src, d, this.opts));
      this.cache.set(d.digest, p);
      this.read.push(d.digest);
    }
    return p;
  }

  /** Wait for every read started so far, so that no temp file outlives a failed diff (the CLI exits right after). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.cache.values());
  }
}

/** Read one layer: fetch and verify the blob into a temp file, then decompress, hash and parse it in one pass. */
async function parseLayer(
  src: ImageSource,
  d: Descriptor,
  opts: LayerReadOptions = {},
): Promise<ParsedLayer> {
  const file = await fetchVerifiedFile(src, d);
  try {
    const entries: ParsedLayer['entries'] = [];
    const order = createHash('sha256');
    const names: string[] = [];
    // readLayer hashes every decompressed byte (padding and end blocks included) into the diff_id
    const { diffId } = await readLayer(
      file,
      async (decompressed) => {
        const tar = decompressed as Readable;
        for await (const { entry, body } of walkTar(tar, d.digest, opts.tarLimits ?? DEFAULT_TAR_LIMITS)) {
          const name = entry.whiteout ? `${entry.path}\0wh` : entry.path;
          order.update(`${name}\n`);
          names.push(name);
          if (entry.type !== 'file') {
            entries.push({ entry });
            continue;
          }
          const h = createHash('sha256');
          for await (const c of body) h.update(c as Buffer);
          entries.push({ entry, sha256: h.digest('hex') });
        }
        // the parser may stop at the end-of-archive blocks; the diff_id needs the stream to its end
        await finished(tar);
      },
      opts.limits,
    );
    names.sort();
    return {
      fingerprint: {
        digest: d.digest,
        diffId,
        entries: names.length,
        order: order.digest('hex'),
        names: createHash('sha256').update(names.join('\n')).digest('hex'),
      },
      entries,
    };
  } finally {
    await file.dispose();
  }
}

/** The image's file system as a container would see it, with the fingerprints of the layers that made it. */
export async function flattenImage(
  src: ImageSource,
  manifest: ImageManifest,
  config: ImageConfig,
  reader: LayerReader = new LayerReader(),
): Promise<FlatImage> {
  // fetch in parallel, apply in order: whiteouts in a layer only make sense on top of the layers below it
  let parsed: ParsedLayer[];
  try {
    parsed = await mapLimit(manifest.layers, manifest.layers.length || 1, (d) => reader.layer(src, d));
  } catch (e) {
    await reader.settle();
    throw e;
  }
  const tree = new FileTree(reader.opts.treeLimits);
  const warnings: DiffFinding[] = [];
  parsed.forEach((p, i) => {
    tree.applyLayer(i, p.entries);
  });
  const claimed = config.diffIds;
  let diffIdsHold = claimed.length === parsed.length;
  if (!diffIdsHold)
    warnings.push({
      code: 'DIFF_ID_COUNT_MISMATCH',
      message: `the config lists ${claimed.length} diff_ids for ${parsed.length} layers: docker would refuse this image`,
      detail: { diffIds: claimed.length, layers: parsed.length },
    });
  parsed.forEach((p, i) => {
    const c = claimed[i];
    if (c !== undefined && c !== p.fingerprint.diffId) {
      diffIdsHold = false;
      warnings.push({
        code: 'DIFF_ID_MISMATCH',
        message: `layer ${i} (${p.fingerprint.digest}): the config claims diff_id ${c}, the layer decompresses to ${p.fingerprint.diffId}`,
        detail: { layer: i, digest: p.fingerprint.digest, claimed: c, found: p.fingerprint.diffId },
      });
    }
  });
  // the tree's only notes are writes resolved through a symlink
  for (const message of tree.notes) warnings.push({ code: 'SYMLINK_TRAVERSAL', message });
  return { tree, layers: parsed.map((p) => p.fingerprint), warnings, diffIdsHold };
}
