// A virtual file tree: layers applied in order with OCI whiteouts, in memory, without writing anything. The
// flattened tree is what `diff` compares, and what `unpack` checks its result against.
import { createHash } from 'node:crypto';
import { TrustpinError } from '../errors/index.js';
import type { EntryType, LayerEntry } from './tar.js';

export interface TreeNode {
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
}

export class FileTree {
  readonly nodes = new Map<string, TreeNode>();

  private removeUnder(prefix: string, keep?: Set<string>): void {
    for (const p of [...this.nodes.keys()]) {
      if ((p === prefix || p.startsWith(`${prefix}/`)) && !keep?.has(p)) this.nodes.delete(p);
    }
  }

  /** Apply one layer's entries (with their content hashes) on top of the tree. */
  applyLayer(layer: number, entries: { entry: LayerEntry; sha256?: string }[]): void {
    const written = new Set<string>();
    // whiteouts act on lower layers only, and an opaque marker applies before its siblings whatever their order
    for (const { entry } of entries) {
      const wh = entry.whiteout;
      if (wh?.kind === 'opaque') {
        for (const p of [...this.nodes.keys()])
          if (wh.dir === '' || p.startsWith(`${wh.dir}/`)) this.nodes.delete(p);
      } else if (wh?.kind === 'file') {
        this.removeUnder(wh.target);
      }
    }
    for (const { entry: e, sha256 } of entries) {
      if (e.whiteout) continue;
      const prev = this.nodes.get(e.path);
      if (prev && (prev.type !== 'directory' || e.type !== 'directory')) this.removeUnder(e.path);
      let node: TreeNode = {
        path: e.path,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        mtime: e.mtime,
        xattrs: e.xattrs,
        layer,
      };
      if (sha256) node.sha256 = sha256;
      if (e.linkname !== undefined) node.linkname = e.linkname;
      if (e.devmajor !== undefined) node = { ...node, devmajor: e.devmajor, devminor: e.devminor ?? 0 };
      if (e.type === 'hardlink') {
        const target = this.nodes.get(e.linkname!);
        if (!target || target.type === 'directory') {
          throw new TrustpinError(
            'LAYER_INVALID',
            `layer ${layer}: hard link ${e.path} → ${e.linkname} points at ${target ? 'a directory' : 'nothing'}`,
            {
              hint: 'a hard link must name a file already in the image',
            },
          );
        }
        // a hard link is the same file: compare it by its target's content
        node = {
          ...node,
          type: target.type,
          size: target.size,
          ...(target.sha256 ? { sha256: target.sha256 } : {}),
        };
      }
      this.nodes.set(e.path, node);
      written.add(e.path);
    }
  }

  sorted(): TreeNode[] {
    return [...this.nodes.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

export function sha256Stream(): { update(b: Buffer): void; digest(): string } {
  const h = createHash('sha256');
  return { update: (b) => h.update(b), digest: () => h.digest('hex') };
}
