// Layer and image builders for the unpack and attack tests: raw tar entries through tar-stream's packer (any
// name, type or mode, malformed on purpose), OCI layouts whose configs carry the right diff_ids, and a snapshot
// of a directory tree so a test can say "nothing outside changed".
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Blob, blobOf, makeTar } from '../../src/demo/build.js';
import { type Digest, digestFile, digestOf, hexOf } from '../../src/digest/index.js';
import { type VerifiedFile, verifiedFileAt } from '../../src/layer/verified-file.js';
import { MT } from '../../src/manifest/index.js';
import { writeOciLayout } from '../harness/oci-layout-writer.js';

export interface RawEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export const MTIME = new Date('2024-02-03T04:05:06Z');

/** A tar of exactly these entries, in this order, with no cleaning of names. */
export async function tarOf(entries: RawEntry[]): Promise<Buffer> {
  return makeTar(
    entries.map((e) => ({
      path: e.name,
      type: e.type ?? 'file',
      content: e.body,
      linkname: e.linkname,
      mode: e.mode ?? (e.type === 'symlink' ? 0o777 : undefined),
      uid: e.uid,
      gid: e.gid,
      mtime: e.mtime ?? MTIME,
      devmajor: e.devmajor,
      devminor: e.devminor,
      pax: e.pax,
    })),
  );
}

/** A layer file on disk as the unpacker takes it (the tests stand in for the digest check). */
export async function layerFile(dir: string, name: string, bytes: Buffer): Promise<VerifiedFile> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return verifiedFileAt(path, { mediaType: MT.ociLayer, digest: digestOf(bytes), size: bytes.length });
}

export interface LayerBlob {
  /** the blob as stored (compressed or not) */
  blob: Buffer;
  /** the config's diff_id for it */
  diffId: Digest;
  mediaType?: string;
}

/** gzip a tar, with its diff_id. */
export function gz(tar: Buffer): LayerBlob {
  return { blob: gzipSync(tar), diffId: digestOf(tar), mediaType: MT.ociLayerGzip };
}

export function plain(tar: Buffer): LayerBlob {
  return { blob: tar, diffId: digestOf(tar), mediaType: MT.ociLayer };
}

export interface Layout {
  /** `oci:DIR:TAG` */
  ref: string;
  manifest: Blob;
  config: Blob;
  layers: Blob[];
}

/** An OCI layout holding one linux/amd64 image with these layers, tagged `tag`. */
export async function writeImage(dir: string, layers: LayerBlob[], tag = 'test'): Promise<Layout> {
  const blobs = layers.map((l) => blobOf(l.blob, l.mediaType ?? MT.ociLayerGzip));
  const config = blobOf(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      }),
    ),
    MT.ociConfig,
  );
  const manifest = blobOf(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: blobs.map((b) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size })),
      }),
    ),
    MT.ociManifest,
  );
  await writeOciLayout(dir, [manifest, config, ...blobs], [{ name: tag, target: manifest }]);
  return { ref: `oci:${dir}:${tag}`, manifest, config, layers: blobs };
}

export interface Node {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'other';
  mode: number;
  uid: number;
  gid: number;
  target?: string;
  sha256?: string;
  ino?: number;
}

function typeOf(st: Stats): Node['type'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

/** Every path below `root` (relative, sorted) with type, permission bits, owner, link target, content hash. */
export async function snapshot(root: string): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = await lstat(p);
      const n: Node = { type: typeOf(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, ino: st.ino };
      if (n.type === 'symlink') n.target = await readlink(p);
      if (n.type === 'file') n.sha256 = hexOf(await digestFile(p));
      out.set(r, n);
      if (n.type === 'dir') await walk(r);
    }
  };
  await walk('');
  return out;
}

export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
