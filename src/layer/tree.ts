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

/** Linux gives up after 40 symlinks in one lookup (ELOOP); a hostile loop must end somewhere too. */
const MAX_HOPS = 40;
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

  /** Remove `path` and everything below it. */
  private remove(path: string): void {
    const kids = this.children.get(path);
    if (kids) {
      for (const k of kids) this.remove(k);
      this.children.delete(path);
    }
    if (this.nodes.delete(path)) this.children.get(parentOf(path))?.delete(path);
  }

  private clearChildren(dir: string): void {
    for (const k of [...(this.children.get(dir) ?? [])]) this.remove(k);
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
    const todo = dir.split('/').reverse();
    const cur: string[] = [];
    let hops = 0;
    while (todo.length > 0) {
      const c = todo.pop()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        cur.pop();
        continue;
      }
      const p = join(cur.join('/'), c);
      const n = this.nodes.get(p);
      if (!n) {
        if (!create) return undefined;
        this.put(implicitDir(p, layer));
        cur.push(c);
      } else if (n.type === 'directory') {
        cur.push(c);
      } else if (n.type === 'symlink') {
        if (++hops > MAX_HOPS)
          throw new TrustpinError('LAYER_INVALID', `layer ${layer}: too many symlinks resolving ${what}`, {
            expected: `at most ${MAX_HOPS} symlinks on one path`,
            found: `a loop or chain through ${p}`,
            hint: 'the image would not unpack; it is broken or hostile',
          });
        const target = n.linkname ?? '';
        if (target.startsWith('/')) cur.length = 0;
        todo.push(...target.split('/').reverse());
      } else {
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
    }
    const out = cur.join('/');
    if (out !== dir) this.note(`layer ${layer}: ${what} resolved through a symlink to ${out || '/'}`);
    return out;
  }

  /** Apply one layer's entries (with their content hashes) on top of the tree. */
  applyLayer(layer: number, entries: { entry: LayerEntry; sha256?: string }[]): void {
    // whiteouts act on lower layers only, and an opaque marker applies before its siblings whatever their order
    for (const { entry } of entries) {
      const wh = entry.whiteout;
      if (wh?.kind === 'opaque') {
        // the marker says the directory exists in this layer, with none of the lower children; a lower file at
        // its place is replaced by the directory this layer brings
        const what = `opaque whiteout ${entry.path}`;
        const parent = this.resolveDir(parentOf(wh.dir), layer, true, what)!;
        const at = wh.dir === '' ? '' : join(parent, baseOf(wh.dir));
        const n = this.nodes.get(at);
        if (n && n.type !== 'directory' && n.type !== 'symlink') this.remove(at);
        this.clearChildren(this.resolveDir(at, layer, true, what)!);
      } else if (wh?.kind === 'file') {
        const dir = this.resolveDir(parentOf(wh.target), layer, false, `whiteout ${entry.path}`);
        if (dir !== undefined) this.remove(join(dir, baseOf(wh.target)));
      }
    }
    for (const { entry: e, sha256 } of entries) {
      if (e.whiteout) continue;
      const parent = parentOf(e.path);
      const dir = this.resolveDir(parent, layer, true, e.path)!;
      const path = dir === parent ? e.path : join(dir, baseOf(e.path));
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
      if (e.type === 'hardlink') node = this.hardlink(node, e, layer);
      this.put(node);
    }
  }

  /**
   * A hard link is the same inode: its type, content and metadata are its target's, whatever the link's own
   * header says (umoci keeps the target's mode, owner and mtime). link(2) does not follow a final symlink.
   */
  private hardlink(node: TreeNode, e: LayerEntry, layer: number): TreeNode {
    const name = e.linkname!;
    const dir = this.resolveDir(parentOf(name), layer, false, `hard link target ${name}`);
    const targetPath = dir === undefined ? name : join(dir, baseOf(name));
    const target = this.nodes.get(targetPath);
    if (!target || target.type === 'directory') {
      throw new TrustpinError('LAYER_INVALID', `layer ${layer}: hard link ${e.path} → ${name} is invalid`, {
        expected: 'a link to a file already in the image',
        found: target ? 'a directory' : 'nothing at that path',
        hint: 'an unpacker would fail on this layer; the image is broken or hostile',
      });
    }
    return {
      ...target,
      path: node.path,
      layer,
      implicit: undefined,
      hardlink: target.hardlink ?? targetPath,
    };
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
