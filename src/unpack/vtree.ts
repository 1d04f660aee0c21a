// The rootfs as trustpin wrote it, kept in memory: every path is resolved here, symlinks followed *virtually*
// relative to the root (like securejoin), so the real file system is only ever touched on resolved real dirs.
import { TrustpinError } from '../errors/index.js';
import { DEFAULT_TREE_LIMITS, pathTooLong, type TreeLimits, tooManyHops } from '../layer/index.js';

export type NodeKind = 'dir' | 'file' | 'symlink' | 'other';

export interface VNode {
  kind: NodeKind;
  /** symlink target as written in the layer */
  target?: string;
  children?: Map<string, VNode>;
  /** folded name → the sibling's actual name; only kept when the target folds names */
  folded?: Map<string, string>;
  /** last layer that wrote this node or walked through it (whiteouts hide only lower layers) */
  layer: number;
  /** a device node the policy did not create: in the tree, not on disk */
  skipped?: true;
  /** directory metadata, applied at the end so later writes into the directory do not disturb it */
  mode?: number;
  mtime?: number;
}

export interface Resolved {
  /** real path components below the root; every one of them is a real directory trustpin created */
  parts: string[];
  node: VNode;
  /** symlinks followed on the way, as `link → target` */
  via: string[];
  /** directories that did not exist and must be created, outermost first (already in the tree) */
  created: string[][];
}

/** How the target file system compares names: what makes two different names one file there. */
export interface NameFolding {
  /** `A` and `a` are one name (APFS and NTFS by default, vfat, ext4/tmpfs casefold directories) */
  caseInsensitive: boolean;
  /** `é` (NFC) and `e` + U+0301 (NFD) are one name (APFS, HFS+, ZFS with normalization set) */
  unicodeNormalizing: boolean;
}

export const CASE_SENSITIVE: NameFolding = { caseInsensitive: false, unicodeNormalizing: false };

/** The key under which `folding` makes names equal, or undefined when every distinct name is its own file. */
export function folder(folding: NameFolding): ((name: string) => string) | undefined {
  const { caseInsensitive: c, unicodeNormalizing: u } = folding;
  if (c && u) return foldName;
  // upper then lower catches ß/ẞ-style pairs; without normalisation the forms stay apart
  if (c) return (n) => n.toUpperCase().toLowerCase();
  if (u) return (n) => n.normalize('NFC');
  return undefined;
}

export function foldName(name: string): string {
  // NFD first so precomposed and decomposed forms fold alike
  return name.normalize('NFD').toUpperCase().toLowerCase().normalize('NFC');
}

export function newDir(layer: number): VNode {
  return { kind: 'dir', children: new Map(), layer };
}

/**
 * A name that the target would make one file with an existing sibling of a different name. Thrown by
 * resolveDir for a directory it would create; the unpacker records it and skips the entry.
 */
export class NameCollision extends Error {
  constructor(
    /** the entry's path, and the sibling's real path */
    readonly path: string,
    readonly sibling: string,
    /** directories this resolution added to the tree before it met the collision (they must still be made) */
    readonly created: string[][],
  ) {
    super(`${path} equals ${sibling} on the target`);
  }
}

export class VirtualRoot {
  readonly root: VNode = newDir(-1);
  private readonly fold: ((name: string) => string) | undefined;

  /** `folding` is the target's: collisions are only tracked where the file system would merge names. */
  constructor(
    folding: NameFolding = CASE_SENSITIVE,
    private readonly limits: TreeLimits = DEFAULT_TREE_LIMITS,
  ) {
    this.fold = folder(folding);
  }

  attach(parent: VNode, name: string, child: VNode): void {
    parent.children!.set(name, child);
    if (!this.fold) return;
    parent.folded ??= new Map();
    parent.folded.set(this.fold(name), name);
  }

  detach(parent: VNode, name: string): void {
    parent.children!.delete(name);
    if (!this.fold) return;
    const f = this.fold(name);
    if (parent.folded?.get(f) === name) parent.folded.delete(f);
  }

  /** A sibling whose name differs from `name` but that the target would make the same file, if any. */
  collidesWith(parent: VNode, name: string): string | undefined {
    if (!this.fold) return undefined;
    const other = parent.folded?.get(this.fold(name));
    return other !== undefined && other !== name ? other : undefined;
  }

  /**
   * Resolve directory components from the root. Symlinks are followed inside the tree (absolute targets
   * start again at the root) and `..` stops at the root, as in a chroot or securejoin — what containerd (its
   * RootPath) and moby (a chroot) do, and what the diff tree does, so both see the same rootfs. Missing
   * directories are added when `create` is set, otherwise the result is undefined. Iterative and O(steps ×
   * path length), with steps bounded by treeLimits.
   */
  resolveDir(comps: string[], entry: string, layer: number, create: boolean): Resolved | undefined {
    const { maxSymlinkHops, maxPathLength } = this.limits;
    const stack: { name: string; node: VNode }[] = [];
    /** components still to walk, last first: a symlink's target goes in front of the rest */
    const todo: string[] = [];
    const push = (cs: string[]) => {
      for (let i = cs.length - 1; i >= 0; i--) todo.push(cs[i]!);
    };
    push(comps);
    const via: string[] = [];
    const created: string[][] = [];
    const names = () => stack.map((s) => s.name);
    let length = 0;
    let hops = 0;
    while (todo.length > 0) {
      const c = todo.pop()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        const top = stack.pop();
        if (top) length -= top.name.length + 1;
        continue;
      }
      if (length + c.length + 1 > maxPathLength) throw pathTooLong(layer, entry, this.limits);
      const parent = stack.at(-1)?.node ?? this.root;
      let child = parent.children!.get(c);
      if (!child) {
        if (!create) return undefined;
        const other = this.collidesWith(parent, c);
        if (other !== undefined) {
          const at = names();
          throw new NameCollision([...at, c].join('/'), [...at, other].join('/'), created);
        }
        child = newDir(layer);
        child.mode = 0o755;
        this.attach(parent, c, child);
        created.push([...names(), c]);
      }
      if (child.kind === 'dir') {
        stack.push({ name: c, node: child });
        length += c.length + 1;
        continue;
      }
      if (child.kind === 'symlink') {
        const at = `/${[...names(), c].join('/')}`;
        if (++hops > maxSymlinkHops)
          throw tooManyHops(layer, entry, this.limits, via.slice(0, 5).join(', ') || at);
        const target = child.target ?? '';
        via.push(`${at} → ${target}`);
        if (target.startsWith('/')) {
          stack.length = 0;
          length = 0;
        }
        push(target.split('/'));
        continue;
      }
      const at = [...names(), c].join('/');
      throw new TrustpinError('LAYER_INVALID', `layer ${layer}: ${entry} needs ${at} to be a directory`, {
        expected: `${at} a directory (or a symlink to one)`,
        found: `a ${child.kind === 'file' ? 'regular file' : 'special file'}`,
        hint: 'the layer writes below a non-directory; the image is broken',
      });
    }
    // a directory written through counts as this layer's, so an opaque marker keeps what this layer put there
    if (create) for (const s of stack) s.node.layer = Math.max(s.node.layer, layer);
    return { parts: names(), node: stack.at(-1)?.node ?? this.root, via, created };
  }

  /** The node at `parts` (real components), without following anything. */
  at(parts: string[]): VNode | undefined {
    let n: VNode | undefined = this.root;
    for (const p of parts) n = n?.children?.get(p);
    return n;
  }
}
