// Deterministic image builder: the embedded demo and the test fixtures are generated, not downloaded.
// Same inputs give the same bytes (fixed mtimes, owners and gzip header), so digests are stable across runs.
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { type Digest, digestOf } from '../digest/index.js';
import { type Descriptor, MT, type Platform } from '../manifest/index.js';

/** One tar entry of a generated layer. */
export interface FileSpec {
  path: string;
  content?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  linkname?: string;
  mode?: number;
  mtime?: Date;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  /** PAX records, e.g. `SCHILY.xattr.<name>` for extended attributes, or a `path` that overrides the name */
  pax?: Record<string, string>;
}

/** Bytes with their digest and media type. */
export interface Blob {
  mediaType: string;
  digest: Digest;
  size: number;
  bytes: Buffer;
}

/** What {@link buildImage} builds. */
export interface ImageSpec {
  platform: Platform;
  layers: FileSpec[][];
  created?: string;
  author?: string;
  cmd?: string[];
  labels?: Record<string, string>;
  history?: string[];
  /** 'oci' (default) or 'docker' media types */
  format?: 'oci' | 'docker';
  compression?: 'gzip' | 'none';
}

/** An image built by {@link buildImage}: manifest, config and layer blobs. */
export interface BuiltImage {
  platform: Platform;
  manifest: Blob;
  config: Blob;
  layers: Blob[];
  diffIds: Digest[];
}

/** An index over built images. */
export interface BuiltIndex {
  index: Blob;
  images: BuiltImage[];
}

/** The fixed mtime of generated files. */
export const EPOCH = new Date('2024-01-01T00:00:00Z');

export function blobOf(bytes: Buffer, mediaType: string): Blob {
  return { mediaType, digest: digestOf(bytes), size: bytes.length, bytes };
}

export function descriptorOf(b: Blob, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra };
}

/** A POSIX tar of the given entries, in the given order, with fixed metadata. */
export async function makeTar(files: FileSpec[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((res, rej) => {
    p.on('end', () => res());
    p.on('error', rej);
  });
  for (const f of files) {
    const type = f.type ?? 'file';
    const header = {
      name: f.path,
      type,
      mode: f.mode ?? (type === 'directory' ? 0o755 : 0o644),
      mtime: f.mtime ?? EPOCH,
      uid: f.uid ?? 0,
      gid: f.gid ?? 0,
      uname: '',
      gname: '',
      linkname: f.linkname,
      ...(f.devmajor !== undefined ? { devmajor: f.devmajor, devminor: f.devminor ?? 0 } : {}),
      ...(f.pax ? { pax: f.pax } : {}),
    };
    const body = type === 'file' ? Buffer.from(f.content ?? '') : undefined;
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      if (body === undefined) p.entry(header, cb);
      else p.entry({ ...header, size: body.length }, body, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Build an image deterministically (same spec, same digests). */
export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const docker = spec.format === 'docker';
  const gzip = (spec.compression ?? 'gzip') === 'gzip';
  const layerType = docker
    ? gzip
      ? MT.dockerLayerGzip
      : MT.dockerLayer
    : gzip
      ? MT.ociLayerGzip
      : MT.ociLayer;
  const layers: Blob[] = [];
  const diffIds: Digest[] = [];
  for (const files of spec.layers) {
    const tar = await makeTar(files);
    diffIds.push(digestOf(tar));
    layers.push(blobOf(gzip ? gzipSync(tar, { level: 9 }) : tar, layerType));
  }
  const created = spec.created ?? EPOCH.toISOString().replace('.000Z', 'Z');
  const author = spec.author ?? 'trustpin-demo';
  const config = {
    created,
    author,
    architecture: spec.platform.architecture,
    os: spec.platform.os,
    ...(spec.platform.variant ? { variant: spec.platform.variant } : {}),
    config: {
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      ...(spec.labels ? { Labels: spec.labels } : {}),
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: spec.layers.map((_, i) => ({
      created,
      created_by: spec.history?.[i] ?? `trustpin-demo: layer ${i}`,
      author,
    })),
  };
  const configBlob = blobOf(Buffer.from(JSON.stringify(config)), docker ? MT.dockerConfig : MT.ociConfig);
  const manifest = {
    schemaVersion: 2,
    mediaType: docker ? MT.dockerManifest : MT.ociManifest,
    config: descriptorOf(configBlob),
    layers: layers.map((l) => descriptorOf(l)),
  };
  const manifestBlob = blobOf(Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
  return { platform: spec.platform, manifest: manifestBlob, config: configBlob, layers, diffIds };
}

/** Options of {@link buildIndex}. */
export interface IndexOptions {
  format?: 'oci' | 'docker';
  /** extra entries (e.g. attestation manifests) appended after the platforms */
  extra?: Descriptor[];
  /** JSON indentation; a re-encoded index has the same content and other bytes */
  indent?: number;
}

/** Build an index (OCI or Docker list) over images. */
export function buildIndex(images: BuiltImage[], opts: IndexOptions = {}): BuiltIndex {
  const mediaType = opts.format === 'docker' ? MT.dockerList : MT.ociIndex;
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: [
      ...images.map((i) => descriptorOf(i.manifest, { platform: stripPlatform(i.platform) })),
      ...(opts.extra ?? []),
    ],
  };
  const bytes = Buffer.from(JSON.stringify(index, null, opts.indent));
  return { index: blobOf(bytes, mediaType), images };
}

function stripPlatform(p: Platform): Platform {
  return p.variant
    ? { architecture: p.architecture, os: p.os, variant: p.variant }
    : { architecture: p.architecture, os: p.os };
}

/** Every blob an index or image needs, manifests included, without duplicates. */
export function allBlobs(x: BuiltIndex | BuiltImage): Blob[] {
  const images = 'index' in x ? x.images : [x];
  const out = new Map<string, Blob>();
  if ('index' in x) out.set(x.index.digest, x.index);
  for (const i of images) {
    for (const b of [i.manifest, i.config, ...i.layers]) out.set(b.digest, b);
  }
  return [...out.values()];
}
