// The rootfs as trustpin wrote it, kept in memory: every path is resolved here, symlinks followed *virtually*
// relative to the root (like securejoin), so the real file system is only ever touched on resolved real dirs.
import { TrustpinError } from '../errors/index.js';

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

/** Linux's MAXSYMLINKS: more hops than this is a loop or an attack. */
const MAX_HOPS = 40;

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
  constructor(folding: NameFolding = CASE_SENSITIVE) {
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
   * start again at the root); a `..` above the root is an escape. Missing directories are added when
   * `create` is set, otherwise the result is undefined.
   */
  resolveDir(comps: string[], entry: string, layer: number, create: boolean): Resolved | undefined {
    const stack: { name: string; node: VNode }[] = [];
    const queue = [...comps];
    const via: string[] = [];
    const created: string[][] = [];
    let hops = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length === 0) throw escapeError(entry, layer, via);
        stack.pop();
        continue;
      }
      const parent = stack.at(-1)?.node ?? this.root;
      let child = parent.children!.get(c);
      if (!child) {
        if (!create) return undefined;
        const other = this.collidesWith(parent, c);
        if (other !== undefined) {
          const at = stack.map((s) => s.name);
          throw new NameCollision([...at, c].join('/'), [...at, other].join('/'), created);
        }
        child = newDir(layer);
        child.mode = 0o755;
        this.attach(parent, c, child);
        created.push([...stack.map((s) => s.name), c]);
      }
      if (child.kind === 'dir') {
        stack.push({ name: c, node: child });
        continue;
      }
      if (child.kind === 'symlink') {
        if (++hops > MAX_HOPS) {
          throw new TrustpinError(
            'LAYER_INVALID',
            `layer ${layer}: ${entry} resolves through a symlink loop`,
            {
              expected: `at most ${MAX_HOPS} symlinks on one path`,
              found: via.slice(0, 5).join(', '),
              hint: 'the layer is broken or hostile; nothing outside the root was touched',
            },
          );
        }
        const target = child.target ?? '';
        via.push(`/${[...stack.map((s) => s.name), c].join('/')} → ${target}`);
        if (target.startsWith('/')) stack.length = 0;
        queue.unshift(...target.split('/'));
        continue;
      }
      const at = [...stack.map((s) => s.name), c].join('/');
      throw new TrustpinError('LAYER_INVALID', `layer ${layer}: ${entry} needs ${at} to be a directory`, {
        expected: `${at} a directory (or a symlink to one)`,
        found: `a ${child.kind === 'file' ? 'regular file' : 'special file'}`,
        hint: 'the layer writes below a non-directory; the image is broken',
      });
    }
    // a directory written through counts as this layer's, so an opaque marker keeps what this layer put there
    if (create) for (const s of stack) s.node.layer = Math.max(s.node.layer, layer);
    return { parts: stack.map((s) => s.name), node: stack.at(-1)?.node ?? this.root, via, created };
  }

  /** The node at `parts` (real components), without following anything. */
  at(parts: string[]): VNode | undefined {
    let n: VNode | undefined = this.root;
    for (const p of parts) n = n?.children?.get(p);
    return n;
  }
}

function escapeError(entry: string, layer: number, via: string[]): TrustpinError {
  return new TrustpinError(
    'PATH_ESCAPE',
    `layer ${layer}: ${entry} resolves outside the root through a symlink`,
    {
      expected: 'every path to stay inside the root filesystem',
      found: via.length ? `via ${via.join(', ')}` : `${entry} climbs above the root`,
      hint: 'the layer tries to write outside its root (symlink-then-write); nothing outside was touched',
    },
  );
}
