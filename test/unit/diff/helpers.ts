// Shared fixtures for the diff unit tests: tars written with tar-stream (full header control: pax xattrs, device
// numbers, whiteouts), parsed back through the real parser, and small OCI layouts for whole-image diffs.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { type BuiltImage, blobOf, descriptorOf, EPOCH, makeTar } from '../../../src/demo/build.js';
import { type Digest, digestOf } from '../../../src/digest/index.js';
import { type LayerEntry, walkTar } from '../../../src/layer/tar.js';
import { FileTree } from '../../../src/layer/tree.js';
import { MT } from '../../../src/manifest/index.js';

export interface RawEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>;
}

/** A tar with exactly these entries, in this order. */
export async function tarOf(entries: RawEntry[]): Promise<Buffer> {
  return makeTar(
    entries.map((e) => ({
      path: e.name,
      type: e.type ?? (e.name.endsWith('/') ? 'directory' : 'file'),
      content: e.content,
      linkname: e.linkname,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtime: e.mtime ?? EPOCH,
      devmajor: e.devmajor,
      devminor: e.devminor,
      pax: e.xattrs
        ? Object.fromEntries(Object.entries(e.xattrs).map(([k, v]) => [`SCHILY.xattr.${k}`, v]))
        : undefined,
    })),
  );
}

/** Entries as `FileTree.applyLayer` wants them, through the real tar parser. */
export async function parsed(entries: RawEntry[]): Promise<{ entry: LayerEntry; sha256?: string }[]> {
  const out: { entry: LayerEntry; sha256?: string }[] = [];
  for await (const { entry, body } of walkTar(Readable.from([await tarOf(entries)]), 'test')) {
    if (entry.type !== 'file') {
      out.push({ entry });
      continue;
    }
    const h = createHash('sha256');
    for await (const c of body) h.update(c as Buffer);
    out.push({ entry, sha256: h.digest('hex') });
  }
  return out;
}

export async function treeOf(...layers: RawEntry[][]): Promise<FileTree> {
  const t = new FileTree();
  for (const [i, l] of layers.entries()) t.applyLayer(i, await parsed(l));
  return t;
}

export const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** An image from raw layer tars (gzip), with a fixed history unless given. */
export async function imageOf(
  layers: RawEntry[][],
  o: { created?: string; history?: string[]; env?: string[] } = {},
): Promise<BuiltImage> {
  const tars = await Promise.all(layers.map(tarOf));
  const diffIds: Digest[] = tars.map((t) => digestOf(t));
  const blobs = tars.map((t) => blobOf(gzipSync(t), MT.ociLayerGzip));
  const created = o.created ?? '2024-01-01T00:00:00Z';
  const config = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: o.env ? { Env: o.env } : {},
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map((_, i) => ({ created, created_by: o.history?.[i] ?? `step ${i}` })),
  };
  const configBlob = blobOf(Buffer.from(JSON.stringify(config)), MT.ociConfig);
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: descriptorOf(configBlob),
    layers: blobs.map((b) => descriptorOf(b)),
  };
  return {
    platform: { os: 'linux', architecture: 'amd64' },
    manifest: blobOf(Buffer.from(JSON.stringify(manifest)), MT.ociManifest),
    config: configBlob,
    layers: blobs,
    diffIds,
  };
}
