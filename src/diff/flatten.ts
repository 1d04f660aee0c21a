// Flatten one image into a FileTree by streaming its proven layers through the tar parser: blob → verified temp
// file → decompressor (bomb limits) → tar entries, every file body hashed. Nothing is unpacked to disk.
import type { Limits } from '../layer/index.js';
import { FileTree, fetchVerifiedFile, type TarLimits, type TreeLimits } from '../layer/index.js';
import type { Descriptor, ImageConfig, ImageManifest } from '../manifest/index.js';
import type { ImageSource } from '../source/index.js';
import { Limiter, mapLimit } from '../util/index.js';
import type { DiffFinding } from './findings.js';
import {
  defaultParserThreads,
  type LayerFingerprint,
  PARSER_THREAD_MIN_BYTES,
  type ParsedLayer,
  type ParserPool,
  parseLayerFile,
  parserLost,
  proveAndParseLayerFile,
  sharedParserPool,
} from './parse.js';
import { fetchesUnhashed, fetchUnprovenFile } from './unproven.js';

export type { LayerFingerprint, ParsedLayer } from './parse.js';

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
  /**
   * threads that decompress, hash and parse layers besides the calling one (default: one per core, at most
   * `concurrency`, none on a single core); 0 parses on the calling thread
   */
  parserThreads?: number;
}

/**
 * Reads layers once per blob digest per run: two images that share a base layer pay for it once. Concurrency is
 * global to the reader because decompression and hashing compete for the same cores whatever image they serve.
 * Without parser threads, `concurrency` layers are in flight, each a download then a parse. With them, downloads
 * (`concurrency` minus the threads, at least two, in the order asked) run beside the parses, with threads +
 * downloads layers in flight: while every thread parses, the downloads go on, so a thread that finishes finds its
 * next layer on disk. In flight means a temp file: there are never more.
 */
export class LayerReader {
  private readonly cache = new Map<string, Promise<ParsedLayer>>();
  private readonly limiter: Limiter;
  private readonly downloads: Limiter;
  /** blob digests actually read (for reports and tests: a fast path reads none) */
  readonly read: string[] = [];

  private readonly pool: ParserPool | undefined;

  constructor(readonly opts: LayerReadOptions = {}) {
    const concurrency = opts.concurrency ?? 3;
    const threads = opts.parserThreads ?? defaultParserThreads(concurrency);
    this.pool = threads > 0 ? sharedParserPool(threads) : undefined;
    // two downloads at once even when the threads could take every slot: a remote registry serves one connection
    // slower than a thread parses, a local one is CPU-bound either way
    const downloads = Math.min(concurrency, Math.max(2, concurrency - threads));
    this.downloads = new Limiter(downloads);
    this.limiter = new Limiter(threads > 0 ? Math.max(concurrency, threads + downloads) : concurrency);
  }

  layer(src: ImageSource, d: Descriptor): Promise<ParsedLayer> {
    let p = this.cache.get(d.digest);
    if (!p) {
      // the threads load while the blob downloads
      if (d.size >= PARSER_THREAD_MIN_BYTES) this.pool?.warm();
      p = this.limiter.run(() => parseLayer(src, d, this.opts, this.pool, this.downloads));
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

/**
 * Read one layer: fetch and verify the blob into a temp file, then decompress, hash and parse it in one pass, on
 * a parser thread when there is a pool. A big layer from a registry is written unhashed and its thread proves
 * the file's digest before it decompresses anything (this thread only moves the bytes). A thread that died
 * under the layer (it never judged it) is not the layer's fault: the file is proven and parsed here instead.
 */
async function parseLayer(
  src: ImageSource,
  d: Descriptor,
  opts: LayerReadOptions,
  pool: ParserPool | undefined,
  downloads: Limiter,
): Promise<ParsedLayer> {
  const limits = { limits: opts.limits, tarLimits: opts.tarLimits };
  const threaded = pool !== undefined && d.size >= PARSER_THREAD_MIN_BYTES;
  if (threaded && fetchesUnhashed(src)) {
    const unproven = await downloads.run(() => fetchUnprovenFile(src, d));
    try {
      return await pool.proveAndParse(unproven, limits).catch((e: unknown) => {
        if (parserLost(e)) return proveAndParseLayerFile(unproven, limits);
        throw e;
      });
    } finally {
      await unproven.dispose();
    }
  }
  const file = await downloads.run(() => fetchVerifiedFile(src, d));
  try {
    if (!threaded) return await parseLayerFile(file, limits);
    return await pool.parse(file, limits).catch((e: unknown) => {
      if (parserLost(e)) return parseLayerFile(file, limits);
      throw e;
    });
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
