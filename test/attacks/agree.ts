// The same layers applied two ways — the diff tree (in memory) and the unpacker (on disk) — reduced to one
// comparable file set: path → type, content hash, link target. `diff` promises to compare what `unpack` writes.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isTrustpinError } from '../../src/errors/index.js';
import { FileTree, type LayerEntry, walkTar } from '../../src/layer/index.js';
import { unpackLayers } from '../../src/unpack/index.js';
import { layerFile, snapshot } from './layers.js';

/** path → `type[:sha256|:target]`, or the error code the whole stack was refused with */
export type FileSet = Map<string, string> | { error: string };

const TYPE: Record<string, string> = { directory: 'dir', hardlink: 'file' };

/** Flatten `tars` (bottom first) with the diff tree. */
export async function treeSet(tars: Buffer[]): Promise<FileSet> {
  const t = new FileTree();
  try {
    for (const [i, tar] of tars.entries()) {
      const entries: { entry: LayerEntry; sha256?: string }[] = [];
      for await (const { entry, body } of walkTar(Readable.from([tar]), `layer ${i}`)) {
        const h = createHash('sha256');
        for await (const c of body) h.update(c as Buffer);
        entries.push(entry.type === 'file' ? { entry, sha256: h.digest('hex') } : { entry });
      }
      t.applyLayer(i, entries);
    }
  } catch (e) {
    if (isTrustpinError(e)) return { error: e.code };
    throw e;
  }
  const out = new Map<string, string>();
  for (const n of t.sorted()) {
    // the unpacker skips device nodes (and hard links to them) unless allowed as root: not part of the set
    if (n.type === 'char' || n.type === 'block') continue;
    const type = TYPE[n.type] ?? n.type;
    out.set(
      n.path,
      type === 'file' ? `file:${n.sha256}` : type === 'symlink' ? `symlink:${n.linkname}` : type,
    );
  }
  return out;
}

/** Unpack `tars` (bottom first) into `dir/rootfs` on this (case-sensitive) file system. */
export async function unpackSet(tars: Buffer[], dir: string): Promise<FileSet> {
  await mkdir(dir, { recursive: true });
  const files = await Promise.all(tars.map((t, i) => layerFile(dir, `layer${i}.tar`, t)));
  const root = join(dir, 'rootfs');
  try {
    await unpackLayers(files, root, { caseInsensitive: false, unicodeNormalizing: false });
  } catch (e) {
    if (isTrustpinError(e)) return { error: e.code };
    throw e;
  }
  const out = new Map<string, string>();
  for (const [p, n] of await snapshot(root))
    out.set(
      p,
      n.type === 'file' ? `file:${n.sha256}` : n.type === 'symlink' ? `symlink:${n.target}` : n.type,
    );
  return out;
}

/** A readable account of how two file sets differ, or undefined when they are the same. */
export function setDifference(a: FileSet, b: FileSet): string | undefined {
  if (!(a instanceof Map) || !(b instanceof Map)) {
    // both refusing is agreement whatever the codes: the tree reads a whole layer before it applies it, the
    // unpacker streams, so the first error each meets may differ
    if (!(a instanceof Map) && !(b instanceof Map)) return undefined;
    const ea = a instanceof Map ? 'accepted' : a.error;
    const eb = b instanceof Map ? 'accepted' : b.error;
    return `tree: ${ea}, unpack: ${eb}`;
  }
  const out: string[] = [];
  for (const [p, v] of a) if (b.get(p) !== v) out.push(`${p}: tree ${v}, unpack ${b.get(p) ?? 'missing'}`);
  for (const [p, v] of b) if (!a.has(p)) out.push(`${p}: tree missing, unpack ${v}`);
  return out.length ? out.slice(0, 10).join('; ') : undefined;
}
