// Compare two flattened images path by path. Strict mode compares every attribute plus which layer wrote each
// path and how the layers were cut; semantic mode drops what a rebuild legitimately changes (mtimes, layering).
import { isDeepStrictEqual } from 'node:util';
import type { TreeNode } from '../layer/index.js';
import type { FlatImage, LayerFingerprint } from './flatten.js';

/** `strict` reports every difference; `semantic` sets aside benign ones (mtimes, layer moves) as ignored. */
export type DiffMode = 'strict' | 'semantic';

/** What differs about a path present on both sides. */
export type What = 'type' | 'content' | 'mode' | 'owner' | 'link' | 'device' | 'xattrs' | 'mtime' | 'layer';

/** Known benign-looking shapes of a change; they stay differences, the class only says what they look like. */
export type BenignClass = 'mtime-only' | 'layer-only' | 'same-size-content' | 'nested-archive';

export interface NodeView {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  linkname?: string;
  hardlink?: string;
  device?: string;
  mtime: string;
  layer: number;
}

/** A path present on both sides whose entries differ, and how. */
export interface ChangedFile {
  path: string;
  what: What[];
  a: NodeView;
  b: NodeView;
  class?: BenignClass;
}

/** The file-level result of comparing two flattened images. */
export interface FileDiff {
  added: string[];
  removed: string[];
  changed: ChangedFile[];
  /** semantic mode: paths whose only differences were ones it ignores */
  ignored: { mtime: number; layer: number };
  /** strict mode: how the layers differ as tars (count, order, bytes) */
  layers: string[];
}

const ARCHIVE = /\.(tar|tgz|gz|zst|xz|bz2|zip|jar|war|whl|apk|deb|rpm|a)$/;

export function view(n: TreeNode): NodeView {
  return {
    type: n.type,
    mode: `0${n.mode.toString(8)}`,
    uid: n.uid,
    gid: n.gid,
    size: n.size,
    ...(n.sha256 ? { sha256: n.sha256 } : {}),
    ...(n.linkname !== undefined ? { linkname: n.linkname } : {}),
    ...(n.hardlink !== undefined ? { hardlink: n.hardlink } : {}),
    ...(n.devmajor !== undefined ? { device: `${n.devmajor},${n.devminor ?? 0}` } : {}),
    mtime: new Date(n.mtime).toISOString(),
    layer: n.layer,
  };
}

/** Every attribute that differs, strict or not; the caller drops what its mode ignores. */
export function differences(a: TreeNode, b: TreeNode): What[] {
  const w: What[] = [];
  if (a.type !== b.type) w.push('type');
  if (a.size !== b.size || a.sha256 !== b.sha256) w.push('content');
  if (a.mode !== b.mode) w.push('mode');
  if (a.uid !== b.uid || a.gid !== b.gid) w.push('owner');
  if (a.linkname !== b.linkname || a.hardlink !== b.hardlink) w.push('link');
  if (a.devmajor !== b.devmajor || a.devminor !== b.devminor) w.push('device');
  if (!isDeepStrictEqual(a.xattrs, b.xattrs)) w.push('xattrs');
  if (a.mtime !== b.mtime) w.push('mtime');
  if (a.layer !== b.layer) w.push('layer');
  return w;
}

function classify(path: string, what: What[], a: TreeNode, b: TreeNode): BenignClass | undefined {
  if (what.length === 1 && what[0] === 'mtime') return 'mtime-only';
  if (what.every((x) => x === 'layer' || x === 'mtime')) return 'layer-only';
  if (what.includes('content') && a.type === 'file' && b.type === 'file') {
    if (ARCHIVE.test(path)) return 'nested-archive';
    if (a.size === b.size) return 'same-size-content';
  }
  return undefined;
}

/** Same content, other file system view? Hard links: semantic mode compares content, not inode sharing. */
function semanticOnly(what: What[], a: TreeNode, b: TreeNode): What[] {
  return what.filter((x) => {
    if (x === 'mtime' || x === 'layer') return false;
    if (x === 'link') return a.linkname !== b.linkname;
    // Linux ignores a symlink's mode bits (every one reads as 0777): a rebuild may record other ones
    if (x === 'mode') return a.type !== 'symlink' || b.type !== 'symlink';
    return true;
  });
}

export function compareTrees(A: FlatImage, B: FlatImage, mode: DiffMode): FileDiff {
  const a = A.tree.sorted();
  const b = B.tree.sorted();
  const out: FileDiff = { added: [], removed: [], changed: [], ignored: { mtime: 0, layer: 0 }, layers: [] };
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.path < y.path)) {
      out.removed.push(x!.path);
      i++;
      continue;
    }
    if (x === undefined || y.path < x.path) {
      out.added.push(y.path);
      j++;
      continue;
    }
    i++;
    j++;
    const all = differences(x, y);
    if (all.length === 0) continue;
    const what = mode === 'strict' ? all : semanticOnly(all, x, y);
    if (what.length === 0) {
      if (all.includes('mtime')) out.ignored.mtime++;
      if (all.includes('layer')) out.ignored.layer++;
      continue;
    }
    const c: ChangedFile = { path: x.path, what, a: view(x), b: view(y) };
    const cls = classify(x.path, what, x, y);
    if (cls) c.class = cls;
    out.changed.push(c);
  }
  if (mode === 'strict') {
    // a layer whose tree changes already show above needs no "other bytes" line; one that leaves the same tree
    // (redundant whiteouts, reordered entries, other cuts) is exactly what strict mode is for
    const explained = out.added.length + out.removed.length + out.changed.length > 0;
    out.layers = layerDifferences(A.layers, B.layers).filter((l) => !explained || !l.includes('other '));
  }
  return out;
}

/** Strict mode: the same tree cut into other layers, or the same layer written in another order, is a difference. */
function layerDifferences(a: LayerFingerprint[], b: LayerFingerprint[]): string[] {
  const out: string[] = [];
  if (a.length !== b.length) out.push(`layer count: ${a.length} vs ${b.length}`);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.diffId === y.diffId) continue;
    if (x.names === y.names && x.order !== y.order)
      out.push(`layer ${i}: the same ${x.entries} entries in another tar order`);
    else if (x.names === y.names)
      out.push(
        `layer ${i}: the same ${x.entries} entries in the same order, other bytes (metadata or content)`,
      );
    else out.push(`layer ${i}: other entries (${x.entries} vs ${y.entries}, whiteouts included)`);
  }
  return out;
}

export function fileDiffEmpty(d: FileDiff): boolean {
  return d.added.length === 0 && d.removed.length === 0 && d.changed.length === 0 && d.layers.length === 0;
}
