// Apply one layer's tar entries to a rootfs: whiteouts, then files, dirs, links and nodes, every path resolved in
// the virtual tree first. The policy (devices, setid, owners, name collisions) is decided here, once per entry.
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { TrustpinError } from '../errors/index.js';
import { DEFAULT_TREE_LIMITS, type LayerEntry, type TreeLimits } from '../layer/index.js';
import {
  makeDir,
  makeHardlink,
  makeNode,
  makeSymlink,
  type Owner,
  removeAll,
  setDirMeta,
  setOwner,
} from './fsops.js';
import { NameCollision, type NameFolding, newDir, VirtualRoot, type VNode } from './vtree.js';
import type { UnpackWarning, WarningSink } from './warnings.js';
import { FileWriter } from './writer.js';

export interface ApplyPolicy {
  /** create device nodes (only honoured when running as root) */
  allowDevices: boolean;
  /** keep setuid/setgid bits on files */
  preserveSetid: boolean;
  /** chown to the tar's uid/gid (only as root) */
  keepOwners: boolean;
  isRoot: boolean;
  /** how the target compares names; two names it would merge are a collision, never a silent overwrite */
  folding: NameFolding;
  /** bounds on resolving a path through symlinks (the diff tree's, so both agree) */
  treeLimits?: TreeLimits;
}

export interface ApplyStats {
  entries: number;
  files: number;
  bytes: number;
  skipped: number;
}

/** Per-layer counters for warnings that would otherwise repeat for every entry. */
interface LayerNotes {
  absolute: number;
  firstAbsolute?: string;
  xattrs: number;
  firstXattr?: string;
}

/** An entry skipped because the target would make it one file with `sibling` (real path below the root). */
export interface Collision {
  layer: number;
  path: string;
  sibling: string;
}

export class Unpacker {
  readonly tree: VirtualRoot;
  /** the caller refuses the unpack when any are recorded: the rootfs would not be the image */
  readonly collisions: Collision[] = [];
  readonly stats: ApplyStats = { entries: 0, files: 0, bytes: 0, skipped: 0 };
  private notes: LayerNotes = { absolute: 0, xattrs: 0 };
  /** regular files are written by a worker thread; everything else waits for it where order matters */
  private readonly writer = new FileWriter();

  constructor(
    readonly root: string,
    private readonly policy: ApplyPolicy,
    private readonly warn: WarningSink,
  ) {
    this.tree = new VirtualRoot(policy.folding, policy.treeLimits ?? DEFAULT_TREE_LIMITS);
  }

  private real(parts: string[]): string {
    return join(this.root, ...parts);
  }

  private warning(layer: number, path: string, code: UnpackWarning['code'], message: string): void {
    this.warn({ code, layer, path, message });
  }

  private owner(e: LayerEntry): Owner | undefined {
    return this.policy.keepOwners && this.policy.isRoot ? { uid: e.uid, gid: e.gid } : undefined;
  }

  /** Apply one layer's entries, in order. `layer` is 0 for the bottom layer. */
  async applyLayer(
    layer: number,
    entries: AsyncIterable<{ entry: LayerEntry; body: Readable }>,
  ): Promise<void> {
    this.notes = { absolute: 0, xattrs: 0 };
    for await (const { entry, body } of entries) {
      this.stats.entries++;
      if (entry.name?.startsWith('/')) {
        this.notes.absolute++;
        this.notes.firstAbsolute ??= entry.name;
      }
      if (Object.keys(entry.xattrs).length > 0) {
        this.notes.xattrs++;
        this.notes.firstXattr ??= entry.path;
      }
      await this.apply(layer, entry, body);
    }
    // no drain here: the next layer resolves paths in the virtual tree, and drains itself before it removes or
    // links anything; finish() drains, and a failure stops the writer before the rootfs is discarded
    const n = this.notes;
    if (n.absolute > 0)
      this.warning(
        layer,
        n.firstAbsolute!,
        'ABSOLUTE_PATH',
        `${n.absolute} entr${n.absolute === 1 ? 'y has' : 'ies have'} an absolute name (first: ${n.firstAbsolute}); written relative to the root`,
      );
    if (n.xattrs > 0)
      this.warning(
        layer,
        n.firstXattr!,
        'XATTR_SKIPPED',
        `${n.xattrs} entr${n.xattrs === 1 ? 'y has' : 'ies have'} extended attributes (first: ${n.firstXattr}); not applied`,
      );
  }

  private async apply(layer: number, e: LayerEntry, body: Readable): Promise<void> {
    if (e.whiteout?.kind === 'file') return this.whiteout(layer, e.whiteout.target, e.path);
    if (e.whiteout?.kind === 'opaque') return this.opaque(layer, e.whiteout.dir, e.path);
    const comps = e.path.split('/');
    const name = comps.pop()!;
    let parent: ReturnType<Unpacker['parentOf']>;
    try {
      parent = this.parentOf(comps, e.path, layer);
    } catch (err) {
      if (!(err instanceof NameCollision)) throw err;
      for (const c of err.created) makeDir(this.real(c), undefined);
      return this.collision(layer, e.path, err.sibling);
    }
    const other = this.tree.collidesWith(parent.node, name);
    // skipped, not written: on the target it would replace or write through its sibling
    if (other !== undefined) return this.collision(layer, e.path, [...parent.parts, other].join('/'));
    const parts = [...parent.parts, name];
    const real = this.real(parts);
    const existing = parent.node.children!.get(name);
    switch (e.type) {
      case 'directory':
        return this.directory(layer, e, parent.node, name, existing, real);
      case 'file':
        return this.file(layer, e, parent.node, name, existing, real, body);
      case 'symlink':
        return this.symlink(layer, e, parent.node, name, existing, real);
      case 'hardlink':
        return this.hardlink(layer, e, parent.node, name, existing, real);
      case 'char':
      case 'block':
      case 'fifo':
        return this.special(layer, e, parent.node, name, existing, real);
    }
  }

  private collision(layer: number, path: string, sibling: string): void {
    this.stats.skipped++;
    this.collisions.push({ layer, path, sibling });
  }

  /** Resolve and create the parent directories of an entry. */
  private parentOf(comps: string[], path: string, layer: number) {
    const r = this.tree.resolveDir(comps, path, layer, true)!;
    for (const c of r.created) makeDir(this.real(c), undefined);
    if (r.via.length > 0)
      this.warning(
        layer,
        path,
        'SYMLINK_TRAVERSAL',
        `${path} is written through ${r.via.join(', ')}; resolved inside the root to /${r.parts.join('/')}`,
      );
    return r;
  }

  private async replace(
    parent: VNode,
    name: string,
    existing: VNode | undefined,
    real: string,
  ): Promise<void> {
    if (!existing) return;
    await this.writer.drain();
    removeAll(real);
    this.tree.detach(parent, name);
  }

  private async directory(
    layer: number,
    e: LayerEntry,
    parent: VNode,
    name: string,
    existing: VNode | undefined,
    real: string,
  ): Promise<void> {
    let node = existing;
    if (node?.kind !== 'dir') {
      await this.replace(parent, name, existing, real);
      makeDir(real, this.owner(e));
      node = newDir(layer);
      this.tree.attach(parent, name, node);
    } else {
      const o = this.owner(e);
      if (o) setOwner(real, o);
    }
    node.layer = layer;
    node.mode = e.mode;
    node.mtime = e.mtime;
  }

  private async file(
    layer: number,
    e: LayerEntry,
    parent: VNode,
    name: string,
    existing: VNode | undefined,
    real: string,
    body: Readable,
  ): Promise<void> {
    let mode = e.mode;
    if (mode & 0o6000 && !this.policy.preserveSetid) {
      mode &= ~0o6000;
      const bits = [e.mode & 0o4000 ? 'setuid' : '', e.mode & 0o2000 ? 'setgid' : ''].filter(Boolean);
      this.warning(
        layer,
        e.path,
        'SETID_STRIPPED',
        `${e.path}: ${bits.join(' and ')} removed (mode ${e.mode.toString(8)} → ${mode.toString(8)}); option preserveSetid keeps it`,
      );
    }
    await this.replace(parent, name, existing, real);
    await this.writer.write(real, body, mode, e.mtime, this.owner(e));
    this.tree.attach(parent, name, { kind: 'file', layer });
    this.stats.files++;
    this.stats.bytes += e.size;
  }

  private async symlink(
    layer: number,
    e: LayerEntry,
    parent: VNode,
    name: string,
    existing: VNode | undefined,
    real: string,
  ): Promise<void> {
    const target = e.linkname ?? '';
    if (target === '' || target.includes('\0'))
      throw new TrustpinError(
        'LAYER_INVALID',
        `layer ${layer}: symlink ${e.path} has an empty or NUL target`,
        {
          hint: 'the layer is broken',
        },
      );
    await this.replace(parent, name, existing, real);
    // a symlink is created as written: an absolute or climbing target is harmless until followed, and the
    // tree only ever follows it relative to the root
    makeSymlink(real, target, e.mtime, this.owner(e));
    this.tree.attach(parent, name, { kind: 'symlink', target, layer });
  }

  private async hardlink(
    layer: number,
    e: LayerEntry,
    parent: VNode,
    name: string,
    existing: VNode | undefined,
    real: string,
  ): Promise<void> {
    const link = e.linkname!;
    const comps = link.split('/');
    const tname = comps.pop()!;
    const tdir = this.tree.resolveDir(comps, e.path, layer, false);
    const target = tdir?.node.children?.get(tname);
    if (!tdir || !target || target.kind === 'dir') {
      throw new TrustpinError(
        'LAYER_INVALID',
        `layer ${layer}: hard link ${e.path} → ${link} names ${target ? 'a directory' : 'nothing in the root'}`,
        {
          expected: 'a hard link to a file already unpacked inside the root',
          found: target ? 'a directory' : `no ${link}`,
          hint: 'a hard link must name an existing non-directory of the image; outside files are never linked',
        },
      );
    }
    const treal = this.real([...tdir.parts, tname]);
    if (treal === real) return;
    if (target.skipped) {
      // a link to a device that was not made is not made either
      return this.skipDevice(
        layer,
        e,
        parent,
        name,
        existing,
        real,
        `hard link to the skipped device ${link}`,
      );
    }
    if (treal.startsWith(`${real}/`))
      throw new TrustpinError(
        'LAYER_INVALID',
        `layer ${layer}: hard link ${e.path} → ${link} names a file below the path it replaces`,
        {
          expected: 'a link to a file already in the image, outside what the link replaces',
          found: `a path below ${e.path}`,
          hint: 'an unpacker would fail on this layer; the image is broken or hostile',
        },
      );
    // the target may still be queued for writing
    await this.writer.drain();
    await this.replace(parent, name, existing, real);
    makeHardlink(treal, real);
    this.tree.attach(parent, name, {
      kind: target.kind,
      layer,
      ...(target.target ? { target: target.target } : {}),
    });
  }

  /**
   * A device (or a hard link to one) that is not made: what was there is replaced all the same (as moby does
   * before it skips a device in a user namespace), so the rootfs is the image without its devices, never the
   * lower layer's entry in their place. It is kept in the tree (not on disk): a later hard link to it is skipped
   * too, and a write below it fails as below any device — as in the diff tree, which holds the device.
   */
  private async skipDevice(
    layer: number,
    e: LayerEntry,
    parent: VNode,
    name: string,
    existing: VNode | undefined,
    real: string,
    what: string,
    why = '',
  ): Promise<void> {
    await this.replace(parent, name, existing, real);
    this.stats.skipped++;
    this.tree.attach(parent, name, { kind: 'other', layer, skipped: true });
    return this.warning(layer, e.path, 'DEVICE_SKIPPED', `${e.path}: ${what} skipped${why}`);
  }

  private async special(
    layer: number,
    e: LayerEntry,
    parent: VNode,
    name: string,
    existing: VNode | undefined,
    real: string,
  ): Promise<void> {
    const kind = e.type as 'char' | 'block' | 'fifo';
    if (kind !== 'fifo' && !(this.policy.allowDevices && this.policy.isRoot)) {
      return this.skipDevice(
        layer,
        e,
        parent,
        name,
        existing,
        real,
        `${kind} device ${e.devmajor ?? 0}:${e.devminor ?? 0}`,
        ` (${this.policy.isRoot ? 'no option allowDevices' : 'not running as root'})`,
      );
    }
    await this.replace(parent, name, existing, real);
    const mode = this.policy.preserveSetid ? e.mode : e.mode & ~0o6000;
    await makeNode(real, kind, mode, { major: e.devmajor ?? 0, minor: e.devminor ?? 0 }, this.owner(e));
    this.tree.attach(parent, name, { kind: 'other', layer });
  }

  /** Stop the writer thread; after this resolves nothing more is written (also after a failure). */
  close(): Promise<void> {
    return this.writer.close();
  }

  /** Wait until every file queued so far is on disk; throws the first write error (ENOSPC, EIO …). */
  settle(): Promise<void> {
    return this.writer.drain();
  }

  /**
   * Directory modes and mtimes, last: writing into a directory changes its mtime, and a read-only directory
   * would stop a non-root unpack from filling it. Deepest first.
   */
  async finish(): Promise<void> {
    await this.writer.drain();
    // pre-order, iteratively (a tree may be as deep as treeLimits.maxPathLength allows); reversed, every
    // directory comes after everything below it
    const dirs: { parts: string[]; node: VNode }[] = [];
    const todo: { parts: string[]; node: VNode }[] = [{ parts: [], node: this.tree.root }];
    while (todo.length > 0) {
      const { parts, node } = todo.pop()!;
      for (const [name, child] of node.children!) {
        if (child.kind !== 'dir') continue;
        const d = { parts: [...parts, name], node: child };
        dirs.push(d);
        todo.push(d);
      }
    }
    for (let i = dirs.length - 1; i >= 0; i--) {
      const d = dirs[i]!;
      setDirMeta(this.real(d.parts), d.node.mode ?? 0o755, d.node.mtime);
    }
  }

  private async whiteout(layer: number, target: string, path: string): Promise<void> {
    const comps = target.split('/');
    const name = comps.pop()!;
    const dir = this.tree.resolveDir(comps, path, layer, false);
    const victim = dir?.node.children?.get(name);
    if (!dir || !victim) return;
    if (victim.layer >= layer) {
      // a whiteout hides lower layers only (OCI image spec): in a directory this layer already wrote or wrote
      // through, it hides the lower children and keeps this layer's — the diff tree applies whiteouts first
      if (victim.kind === 'dir') return this.sweep(layer, victim, [...dir.parts, name]);
      this.warning(
        layer,
        path,
        'WHITEOUT_IGNORED',
        `${path} names ${target}, which this same layer wrote; a whiteout only hides lower layers`,
      );
      return;
    }
    await this.writer.drain();
    removeAll(this.real([...dir.parts, name]));
    this.tree.detach(dir.node, name);
  }

  /**
   * `.wh..wh..opq`: hide every lower-layer child of the directory, keeping what this layer already wrote. The
   * marker says the directory exists in this layer: a missing one is created, a lower non-directory in its
   * place is replaced (containerd and moby create it as the marker's parent; the diff tree does the same).
   */
  private async opaque(layer: number, dirPath: string, path: string): Promise<void> {
    const comps = dirPath === '' ? [] : dirPath.split('/');
    if (comps.length > 0) {
      const name = comps.pop()!;
      const parent = this.parentOf(comps, path, layer);
      const existing = parent.node.children!.get(name);
      if (existing === undefined || existing.kind === 'file' || existing.kind === 'other') {
        const other = this.tree.collidesWith(parent.node, name);
        if (other !== undefined) return this.collision(layer, path, [...parent.parts, other].join('/'));
        const real = this.real([...parent.parts, name]);
        await this.replace(parent.node, name, existing, real);
        makeDir(real, undefined);
        const node = newDir(layer);
        node.mode = 0o755;
        this.tree.attach(parent.node, name, node);
        return;
      }
      comps.push(name);
    }
    const dir = this.tree.resolveDir(comps, path, layer, true)!;
    for (const c of dir.created) makeDir(this.real(c), undefined);
    await this.sweep(layer, dir.node, dir.parts);
  }

  /** Remove every child below `top` that a lower layer wrote; iterative, for trees of any depth. */
  private async sweep(layer: number, top: VNode, topParts: string[]): Promise<void> {
    await this.writer.drain();
    const todo: { node: VNode; parts: string[] }[] = [{ node: top, parts: topParts }];
    while (todo.length > 0) {
      const { node, parts } = todo.pop()!;
      for (const [name, child] of [...node.children!]) {
        if (child.layer < layer) {
          removeAll(this.real([...parts, name]));
          this.tree.detach(node, name);
        } else if (child.kind === 'dir') {
          todo.push({ node: child, parts: [...parts, name] });
        }
      }
    }
  }
}
