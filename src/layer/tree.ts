// A virtual file tree: layers applied in order with OCI whiteouts, in memory, without writing anything. The
// flattened tree is what `diff` compares, and what `unpack` checks its result against.
import { TrustpinError } from '../errors/index.js';
import type { EntryType, LayerEntry } from './tar.js';

export interface TreeNode {
  /** where the container sees it: parent symlinks resolved inside the root */
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  sha256?: string;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs: Record<string, string>;
  /** index of the layer that last wrote this path */
  layer: number;
  /** a parent directory no tar entry described: an unpacker creates it with default metadata */
  implicit?: true;
  /** for hard links: the path this entry links to (its content is the target's) */
  hardlink?: string;
}

/** Bounds on resolving one path through the symlinks of a layer stack (the diff tree and the unpacker share them). */
export interface TreeLimits {
  /** symlinks followed while resolving one path; Linux gives up after 40 (MAXSYMLINKS, ELOOP). Default 40. */
  maxSymlinkHops: number;
  /**
   * characters of the path a resolution reaches (symlink targets substituted), like Linux's PATH_MAX: an
   * unpacker could not create a deeper path, and every step of the resolution stays O(this). Default 4096.
   */
  maxPathLength: number;
}
/** 40 symlink hops and 4096-character resolved paths, as Linux. */
export const DEFAULT_TREE_LIMITS: TreeLimits = { maxSymlinkHops: 40, maxPathLength: 4096 };

/** The coded errors both trees give when a resolution passes a TreeLimits bound. */
export function tooManyHops(layer: number, what: string, limits: TreeLimits, through: string): TrustpinError {
  return new TrustpinError('LAYER_INVALID', `layer ${layer}: too many symlinks resolving ${what}`, {
    expected: `at most ${limits.maxSymlinkHops} symlinks on one path (option treeLimits.maxSymlinkHops)`,
    found: `a loop or chain through ${through.slice(0, 300)}`,
    hint: 'the image would not unpack (ELOOP); it is broken or hostile',
  });
}
export function pathTooLong(layer: number, what: string, limits: TreeLimits): TrustpinError {
  return new TrustpinError(
    'LAYER_INVALID',
    `layer ${layer}: ${what.slice(0, 300)} resolves to a path longer than ${limits.maxPathLength} characters`,
    {
      expected: `resolved paths of at most ${limits.maxPathLength} characters (option treeLimits.maxPathLength; Linux: PATH_MAX)`,
      found: 'a longer path once the symlinks on the way are followed',
      hint: 'the image would not unpack (ENAMETOOLONG); it is broken or hostile',
    },
  );
}

const MAX_NOTES = 20;

const parentOf = (p: string) => {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
};
const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

export class FileTree {
  readonly nodes = new Map<string, TreeNode>();
  /** why the tree is not a plain replay of tar names (writes through symlinks), capped */
  readonly notes: string[] = [];
  // Invariant: every node's ancestors exist as directory nodes. It makes deletes O(subtree) through this index,
  // and lets a parent that exists as a directory stand for itself without walking its components again.
  private readonly children = new Map<string, Set<string>>();
  /** directories a layer wrote through without writing them (the unpacker's "walked through"): see layerOf */
  private readonly touched = new Map<string, number>();

  constructor(private readonly limits: TreeLimits = DEFAULT_TREE_LIMITS) {}

  private put(node: TreeNode): void {
    this.nodes.set(node.path, node);
    const parent = parentOf(node.path);
    let kids = this.children.get(parent);
    if (!kids) {
      kids = new Set();
      this.children.set(parent, kids);
    }
    kids.add(node.path);
  }

  /** Remove `path` and everything below it; iterative, as a tree may be as deep as maxPathLength allows. */
  private remove(path: string): void {
    if (this.nodes.delete(path)) this.children.get(parentOf(path))?.delete(path);
    this.touched.delete(path);
    const todo = [path];
    while (todo.length > 0) {
      const p = todo.pop()!;
      const kids = this.children.get(p);
      if (!kids) continue;
      this.children.delete(p);
      for (const k of kids) {
        this.nodes.delete(k);
        this.touched.delete(k);
        todo.push(k);
      }
    }
  }

  private note(s: string): void {
    if (this.notes.length < MAX_NOTES) this.notes.push(s);
  }

  /**
   * The directory `dir` names once every symlink on the way is followed, clamped to the root like securejoin
   * (an unpacker writes `a/b` through a symlink `a`). Missing directories are created implicitly when `create`,
   * else the result is undefined. A component that is a file cannot be a parent: the layer is broken.
   */
  private resolveDir(dir: string, layer: number, create: boolean, what: string): string | undefined {
    if (dir === '' || this.nodes.get(dir)?.type === 'directory') return dir;
    const { maxSymlinkHops, maxPathLength } = this.limits;
    // components still to walk, last first (a stack: a symlink's target is pushed in front of the rest); every
    // step is O(1) plus the lookup of `cur`, which maxPathLength bounds, and maxSymlinkHops bounds the steps
    const todo: string[] = [];
    const pushPath = (p: string) => {
      const parts = p.split('/');
      for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i]!);
    };
    pushPath(dir);
    let cur = '';
    /** cur's length before each of its components, to pop one in O(1) */
    const lens: number[] = [];
    let hops = 0;
    while (todo.length > 0) {
      const c = todo.pop()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        // clamped at the root, like a chroot or securejoin: `..` of `/` is `/`
        if (lens.length > 0) cur = cur.slice(0, lens.pop());
        continue;
      }
      const p = cur === '' ? c : `${cur}/${c}`;
      if (p.length > maxPathLength) throw pathTooLong(layer, what, this.limits);
      const n = this.nodes.get(p);
      if (!n) {
        if (!create) return undefined;
        this.put(implicitDir(p, layer));
      } else if (n.type === 'symlink') {
        if (++hops > maxSymlinkHops) throw tooManyHops(layer, what, this.limits, p);
        const target = n.linkname ?? '';
        if (target.startsWith('/')) {
          cur = '';
          lens.length = 0;
        }
        pushPath(target);
        continue;
      } else if (n.type !== 'directory') {
        throw new TrustpinError(
          'LAYER_INVALID',
          `layer ${layer}: ${what} has a parent that is not a directory`,
          {
            expected: `${p} to be a directory (or a symlink to one)`,
            found: `a ${n.type}`,
            hint: 'an unpacker would fail on this layer; the image is broken or hostile',
          },
        );
      }
      lens.push(cur.length);
      cur = p;
    }
    if (cur !== dir) this.note(`layer ${layer}: ${what} resolved through a symlink to ${cur || '/'}`);
    return cur;
  }

  /**
   * Apply one layer's entries (with their content hashes) on top of the tree, in tar order — the order an
   * unpacker applies them, so that diff and unpack build the same rootfs. Whiteouts hide lower layers only: what
   * this layer already wrote, or wrote through, is kept (an unpacker cannot reorder a stream).
   */
  applyLayer(layer: number, entries: { entry: LayerEntry; sha256?: string }[]): void {
    for (const { entry: e, sha256 } of entries) {
      if (e.whiteout?.kind === 'opaque') this.opaque(layer, e.whiteout.dir, e.path);
      else if (e.whiteout?.kind === 'file') this.whiteout(layer, e.whiteout.target, e.path);
      else this.write(layer, e, sha256);
    }
  }

  /** The last layer that wrote `path` or wrote through it (a directory on the way to a write). */
  private layerOf(path: string): number {
    return Math.max(this.nodes.get(path)?.layer ?? -1, this.touched.get(path) ?? -1);
  }

  /** `dir` and its ancestors are written through by `layer`: its whiteouts no longer hide them. */
  private touch(dir: string, layer: number): void {
    for (let p = dir; p !== '' && (this.touched.get(p) ?? -1) < layer; p = parentOf(p))
      this.touched.set(p, layer);
  }

  /** Remove everything below `dir` that a lower layer wrote; what `layer` wrote (or wrote through) stays. */
  private sweep(dir: string, layer: number): void {
    const todo = [dir];
    while (todo.length > 0) {
      const d = todo.pop()!;
      for (const k of [...(this.children.get(d) ?? [])]) {
        if (this.layerOf(k) < layer) this.remove(k);
        else if (this.nodes.get(k)?.type === 'directory') todo.push(k);
      }
    }
  }

  private whiteout(layer: number, target: string, path: string): void {
    const dir = this.resolveDir(parentOf(target), layer, false, `whiteout ${path}`);
    if (dir === undefined) return;
    const victim = join(dir, baseOf(target));
    const n = this.nodes.get(victim);
    if (!n) return;
    if (this.layerOf(victim) < layer) this.remove(victim);
    else if (n.type === 'directory') this.sweep(victim, layer);
  }

  /**
   * The marker says the directory exists in this layer with none of the lower children: a missing one is
   * created, a lower non-directory in its place replaced (containerd and moby create it as the marker's parent).
   */
  private opaque(layer: number, dir: string, path: string): void {
    const what = `opaque whiteout ${path}`;
    if (dir === '') {
      this.sweep('', layer);
      return;
    }
    const parent = this.resolveDir(parentOf(dir), layer, true, what)!;
    this.touch(parent, layer);
    const at = join(parent, baseOf(dir));
    const n = this.nodes.get(at);
    if (!n || (n.type !== 'directory' && n.type !== 'symlink')) {
      if (n) this.remove(at);
      this.put(implicitDir(at, layer));
      return;
    }
    const real = this.resolveDir(at, layer, true, what)!;
    this.touch(real, layer);
    this.sweep(real, layer);
  }

  private write(layer: number, e: LayerEntry, sha256: string | undefined): void {
    const parent = parentOf(e.path);
    const dir = this.resolveDir(parent, layer, true, e.path)!;
    this.touch(dir, layer);
    const path = dir === parent ? e.path : join(dir, baseOf(e.path));
    // a hard link's target is found before anything is replaced: a link to itself changes nothing, one to a
    // path below itself would name a file the replacement removes (an unpacker's link(2) fails on it)
    const link = e.type === 'hardlink' ? this.linkTarget(e, path, layer) : undefined;
    if (link?.path === path) return;
    const prev = this.nodes.get(path);
    // a directory over a directory only updates its metadata; anything else replaces the whole subtree
    if (prev && (prev.type !== 'directory' || e.type !== 'directory')) this.remove(path);
    // one object shape for every node: adding optional fields one by one made this loop ~1.5× slower
    let node: TreeNode = {
      path,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size: e.size,
      mtime: e.mtime,
      sha256,
      linkname: e.linkname,
      devmajor: e.devmajor,
      devminor: e.devmajor === undefined ? undefined : (e.devminor ?? 0),
      xattrs: e.xattrs,
      layer,
      implicit: undefined,
      hardlink: undefined,
    };
    if (link) node = { ...link, path, layer, implicit: undefined, hardlink: link.hardlink ?? link.path };
    this.put(node);
  }

  /**
   * A hard link is the same inode: its type, content and metadata are its target's, whatever the link's own
   * header says (umoci keeps the target's mode, owner and mtime). link(2) does not follow a final symlink.
   */
  private linkTarget(e: LayerEntry, path: string, layer: number): TreeNode {
    const name = e.linkname!;
    const dir = this.resolveDir(parentOf(name), layer, false, `hard link target ${name}`);
    const targetPath = dir === undefined ? name : join(dir, baseOf(name));
    const target = this.nodes.get(targetPath);
    const below = targetPath.startsWith(`${path}/`);
    if (!target || target.type === 'directory' || below) {
      throw new TrustpinError('LAYER_INVALID', `layer ${layer}: hard link ${e.path} → ${name} is invalid`, {
        expected: 'a link to a file already in the image, outside what the link replaces',
        found: below ? `a path below ${path}` : target ? 'a directory' : 'nothing at that path',
        hint: 'an unpacker would fail on this layer; the image is broken or hostile',
      });
    }
    return target;
  }

  sorted(): TreeNode[] {
    return [...this.nodes.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

function implicitDir(path: string, layer: number): TreeNode {
  return {
    path,
    type: 'directory',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    xattrs: {},
    layer,
    implicit: true,
  };
}
