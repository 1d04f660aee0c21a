// Unpack verified layers into an empty directory, bottom layer first, with tar-stream as the only parser. A
// failure removes what was written, so a half-built or hostile rootfs is never left for someone to run.
import { chmod, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Digest } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import type { VerifiedFile } from '../layer/index.js';
import {
  asLayerError,
  DEFAULT_LIMITS,
  DEFAULT_TAR_LIMITS,
  type Limits,
  readLayer,
  type TarLimits,
  type TreeLimits,
  walkTar,
} from '../layer/index.js';
import type { Descriptor } from '../manifest/index.js';
import { type ApplyStats, type Collision, Unpacker } from './apply.js';
import { removeTree } from './fsops.js';
import { probeNameFolding } from './probe.js';
import type { NameFolding } from './vtree.js';
import type { UnpackWarning } from './warnings.js';

export { probeNameFolding } from './probe.js';
export type { NameFolding } from './vtree.js';
export type { UnpackWarning, UnpackWarningCode } from './warnings.js';

export interface UnpackOptions {
  /** create device nodes; honoured only when running as root */
  allowDevices?: boolean;
  /** keep setuid/setgid bits on files */
  preserveSetid?: boolean;
  /** decompression caps per layer */
  limits?: Limits;
  tarLimits?: TarLimits;
  /** bounds on resolving paths through symlinks (default DEFAULT_TREE_LIMITS: 40 hops, 4096 characters) */
  treeLimits?: TreeLimits;
  onWarning?: (w: UnpackWarning) => void;
  /**
   * Called with the digest of layer `i`'s uncompressed tar (hashed while it is applied) once it is applied; a
   * throw (a diff_id mismatch) fails the unpack and removes the rootfs.
   */
  check?: (i: number, diffId: Digest, size: number) => void;
  /** called when layer `i` starts and ends */
  onLayer?: (i: number, state: 'start' | 'done') => void;
  /**
   * Whether the target merges names that differ only by case; probed in the target when undefined (set it
   * only to test, or when the caller already knows). Only then do such names collide (NAME_COLLISION).
   */
  caseInsensitive?: boolean;
  /** Whether the target merges NFC and NFD forms of a name; probed when undefined, like `caseInsensitive`. */
  unicodeNormalizing?: boolean;
}

/** What an unpack wrote, and the warnings it gave. */
export interface UnpackResult extends ApplyStats {
  rootfs: string;
  layers: number;
  warnings: UnpackWarning[];
}

function usage(message: string, found: string): TrustpinError {
  return new TrustpinError('USAGE', message, {
    expected: 'a new or empty directory to unpack into',
    found,
    hint: 'unpacking over existing files would mix them with the image; choose an empty directory',
  });
}

/** Throws USAGE unless `rootfs` is missing or an empty directory; true when it exists. */
export async function checkTarget(rootfs: string): Promise<boolean> {
  // the user's own path may be a symlink (it is trusted input); everything below it is the image's
  const st = await stat(rootfs).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!st) return false;
  if (!st.isDirectory())
    throw usage(`the unpack target ${rootfs} is not a directory`, 'an existing non-directory');
  const names = await readdir(rootfs);
  if (names.length > 0) throw usage(`the unpack target ${rootfs} is not empty`, `${names.length} entries`);
  return true;
}

/** Create the rootfs, or accept an empty one; returns its real path and whether it was created. */
async function prepareRoot(rootfs: string): Promise<{ root: string; created: boolean }> {
  if (!(await checkTarget(rootfs))) {
    // 0700 while unpacking: nobody else can plant a symlink in a tree trustpin is still building
    await mkdir(rootfs, { recursive: true, mode: 0o700 });
    return { root: await realpath(rootfs), created: true };
  }
  return { root: await realpath(rootfs), created: false };
}

async function discard(root: string, created: boolean): Promise<void> {
  // iterative: a rootfs may be thousands of directories deep, and a failed one must not be left behind
  const quiet = (p: string) => {
    try {
      removeTree(p);
    } catch {
      // best effort: the error being reported is the unpack's
    }
  };
  if (created) return quiet(root);
  for (const n of await readdir(root).catch(() => [] as string[])) quiet(`${root}/${n}`);
}

/** The options' answer, asking the (empty, trustpin-owned) root only for what they leave open. */
async function foldingOf(root: string, opts: UnpackOptions): Promise<NameFolding> {
  const { caseInsensitive, unicodeNormalizing } = opts;
  if (caseInsensitive !== undefined && unicodeNormalizing !== undefined)
    return { caseInsensitive, unicodeNormalizing };
  const probed = await probeNameFolding(root);
  return {
    caseInsensitive: caseInsensitive ?? probed.caseInsensitive,
    unicodeNormalizing: unicodeNormalizing ?? probed.unicodeNormalizing,
  };
}

/**
 * Refusal, not a skip or a rename: a rootfs missing xt_connmark.h, or holding it as `xt_connmark.h~1`, is not
 * the image, and on a merging file system the second name would overwrite or write through the first.
 */
function collisionError(root: string, folding: NameFolding, c: Collision[]): TrustpinError {
  const how = [
    folding.caseInsensitive ? 'case-insensitive' : '',
    folding.unicodeNormalizing ? 'Unicode-normalising' : '',
  ]
    .filter(Boolean)
    .join(' and ');
  const shown = c.slice(0, 20).map((x) => `layer ${x.layer}: ${x.path} = ${x.sibling}`);
  if (c.length > shown.length) shown.push(`… ${c.length - shown.length} more`);
  return new TrustpinError(
    'NAME_COLLISION',
    `${c.length} name${c.length === 1 ? '' : 's'} in the image would merge with a sibling on ${root}, which is ${how}; nothing was unpacked`,
    {
      expected: 'every name of the image to be its own file in the target',
      found: shown.join('; '),
      hint: 'unpack into a directory on a case-sensitive, non-normalising file system (e.g. ext4, or a case-sensitive APFS volume); the image itself is fine',
    },
  );
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * A layer that may still be downloading: `ready()` resolves to its file once its digest is proven (or rejects,
 * failing the unpack). It is called only when the layers below it are applied, so a pull can unpack layer 0
 * while the later blobs still arrive.
 */
export interface PendingLayer {
  descriptor: Descriptor;
  ready(): Promise<VerifiedFile>;
}

/**
 * Apply `layers` (bottom first), each a file whose digest was already proven or a {@link PendingLayer} that
 * yields one, to `rootfs`.
 */
export async function unpackLayers(
  layers: readonly (VerifiedFile | PendingLayer)[],
  rootfs: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const { root, created } = await prepareRoot(rootfs);
  const warnings: UnpackWarning[] = [];
  const root0 = isRoot();
  let folding: NameFolding;
  try {
    folding = await foldingOf(root, opts);
  } catch (e) {
    await discard(root, created);
    throw e;
  }
  const u = new Unpacker(
    root,
    {
      allowDevices: opts.allowDevices === true,
      preserveSetid: opts.preserveSetid === true,
      keepOwners: root0,
      isRoot: root0,
      folding,
      ...(opts.treeLimits ? { treeLimits: opts.treeLimits } : {}),
    },
    (w) => {
      warnings.push(w);
      opts.onWarning?.(w);
    },
  );
  let current = 0;
  try {
    for (const [i, l] of layers.entries()) {
      current = i;
      // nothing of layer i is read before its own digest is proven: ready() resolves only then
      const f = 'ready' in l ? await l.ready() : l;
      opts.onLayer?.(i, 'start');
      const name = `${i} (${f.descriptor.digest})`;
      // one decompression serves both the diff_id (hashed by readLayer) and the tar parser
      const { diffId, size } = await readLayer(
        f,
        (s) => u.applyLayer(i, walkTar(s as Readable, name, opts.tarLimits ?? DEFAULT_TAR_LIMITS)),
        opts.limits ?? DEFAULT_LIMITS,
      );
      opts.check?.(i, diffId, size);
      // a layer is reported done once its files are on disk, so a full disk never follows "unpacked"; without
      // a listener the writer keeps running behind the next layer's decompression
      if (opts.onLayer) {
        await u.settle();
        opts.onLayer(i, 'done');
      }
    }
    if (u.collisions.length > 0) throw collisionError(rootfs, folding, u.collisions);
    await u.finish();
    await u.close();
    if (created) await chmod(root, 0o755);
  } catch (e) {
    // the writer thread is stopped before anything is removed: nothing is written after the discard
    await u.close();
    await discard(root, created);
    throw asLayerError(e, `${current} (${layers[current]?.descriptor.digest})`);
  }
  return { rootfs: root, layers: layers.length, warnings, ...u.stats };
}
