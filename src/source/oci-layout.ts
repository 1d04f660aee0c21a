// OCI image layouts (`oci:DIR[:TAG|@DIGEST]`): index.json is the untrusted root, read like a tag fetch; every
// manifest and blob below it comes from blobs/<alg>/<hex> and is checked against the descriptor that named it.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  type Digest,
  parseDigest,
  selfDigested,
  shortDigest,
  type Verified,
  verifyBytes,
} from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { type Descriptor, type IndexManifest, type Manifest, parseManifest } from '../manifest/index.js';
import { abortableStream, throwIfAborted } from './helpers.js';
import { blobPath, checkMarker, INDEX_FILE, MARKER_FILE, REF_NAME } from './layout-format.js';
import { DirFs, ioError, type LayoutFs, verifiedStream } from './layout-fs.js';
import { DEFAULT_MANIFEST_CAP, type ImageSource, type SourceCallOptions, type Transport } from './types.js';

/** The `oci-layout` marker is a one-line JSON document. */
const MARKER_CAP = 64 * 1024;

export interface LayoutSelector {
  tag?: string | undefined;
  digest?: Digest | undefined;
}

/** The layout logic over any LayoutFs: marker check, index.json selection, verified reads. */
export class OciLayout {
  readonly fs: LayoutFs;
  private indexP: Promise<IndexManifest> | undefined;
  constructor(fs: LayoutFs) {
    this.fs = fs;
  }

  async check(): Promise<void> {
    const invalid = (why: string, found?: string) =>
      new TrustpinError('SOURCE_INVALID', `${this.fs.where} is not an OCI image layout: ${why}`, {
        expected: 'an oci-layout file with {"imageLayoutVersion": "1.0.0"}, index.json and blobs/',
        found,
      });
    if ((await this.fs.size(MARKER_FILE)) === undefined) throw invalid('no oci-layout file');
    const raw = await this.fs.readCapped(MARKER_FILE, MARKER_CAP, 'oci-layout file');
    const marker = checkMarker(raw.toString('utf8'));
    if (!marker.ok) throw invalid(marker.why, marker.found);
  }

  /** index.json, parsed once. Nothing names its digest, so it is trusted only to be these bytes. */
  index(): Promise<IndexManifest> {
    this.indexP ??= this.readIndex();
    return this.indexP;
  }

  private async readIndex(): Promise<IndexManifest> {
    if ((await this.fs.size(INDEX_FILE)) === undefined) {
      throw new TrustpinError('SOURCE_INVALID', `${this.fs.where} has no index.json`);
    }
    const bytes = await this.fs.readCapped(INDEX_FILE, DEFAULT_MANIFEST_CAP, 'index.json');
    let m: Manifest;
    try {
      m = parseManifest(selfDigested(bytes)).value;
    } catch (e) {
      throw new TrustpinError('SOURCE_INVALID', `index.json in ${this.fs.where} is invalid`, {
        found: (e as Error).message,
        cause: e,
      });
    }
    if (m.kind !== 'index') {
      throw new TrustpinError('SOURCE_INVALID', `index.json in ${this.fs.where} is not an image index`, {
        found: m.mediaType,
      });
    }
    return m;
  }

  /** How each entry can be asked for: its name annotation (the ref name unless told), else `@digest`. */
  async names(key = REF_NAME): Promise<string[]> {
    return (await this.index()).manifests.map((m) => m.annotations?.[key] ?? `@${m.digest}`);
  }

  async select(sel: LayoutSelector): Promise<Descriptor> {
    if (sel.digest !== undefined) return this.byDigest(sel.digest);
    if (sel.tag !== undefined)
      return this.byAnnotation(REF_NAME, sel.tag, `tagged ${JSON.stringify(sel.tag)}`);
    return this.only();
  }

  /** The entries whose annotation `key` is `value`; one image under several entries is still one. */
  async byAnnotation(key: string, value: string, what: string): Promise<Descriptor> {
    const hits = (await this.index()).manifests.filter((m) => m.annotations?.[key] === value);
    if (hits.length > 0 && hits.every((h) => h.digest === hits[0]!.digest)) return hits[0]!;
    if (hits.length > 1) {
      throw new TrustpinError('SOURCE_INVALID', `${this.fs.where} has several different images ${what}`, {
        found: hits.map((h) => shortDigest(h.digest)).join(', '),
        hint: 'select one by digest: …@sha256:<hex>',
      });
    }
    const names = await this.names(key);
    throw new TrustpinError('NOT_FOUND', `no image ${what} in ${this.fs.where} (available: ${list(names)})`, {
      found: list(names),
    });
  }

  async only(nameKey = REF_NAME): Promise<Descriptor> {
    const idx = await this.index();
    if (idx.manifests.length === 1) return idx.manifests[0]!;
    if (idx.manifests.length === 0) throw new TrustpinError('NOT_FOUND', `${this.fs.where} holds no images`);
    const names = await this.names(nameKey);
    throw new TrustpinError(
      'USAGE',
      `${this.fs.where} holds ${names.length} images; name one (${list(names)})`,
      {
        expected: `${this.fs.where}:TAG or ${this.fs.where}@DIGEST`,
        found: list(names),
      },
    );
  }

  /** An index.json entry, or any manifest blob in the layout: then its bytes are read and verified here. */
  async byDigest(digest: Digest): Promise<Descriptor> {
    const hit = (await this.index()).manifests.find((m) => m.digest === digest);
    if (hit) return hit;
    const rel = blobPath(digest);
    const size = await this.fs.size(rel);
    if (size === undefined) {
      throw new TrustpinError('MANIFEST_UNKNOWN', `${this.fs.where} has no manifest ${digest}`, {
        found: `not in index.json and no ${rel}`,
      });
    }
    const vb = verifyBytes(await this.fs.readCapped(rel, DEFAULT_MANIFEST_CAP, `manifest ${digest}`), {
      digest,
      what: 'manifest',
    });
    return { mediaType: parseManifest(vb).value.mediaType, digest, size: vb.size };
  }

  /** Fail before reading when the file cannot be the descriptor's content. */
  private async sized(d: Descriptor, what: 'manifest' | 'blob'): Promise<string> {
    const rel = blobPath(d.digest);
    const size = await this.fs.size(rel);
    if (size === undefined) {
      throw new TrustpinError(
        what === 'manifest' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN',
        `${this.fs.where} has no ${what} ${d.digest}`,
        {
          found: `no ${rel}`,
        },
      );
    }
    if (size > d.size) {
      throw new TrustpinError(
        'SIZE_EXCEEDED',
        `${what} ${d.digest} in ${this.fs.where} is longer than its descriptor`,
        {
          expected: `${d.size} bytes`,
          found: `${size} bytes`,
          hint: 'the file is not the content its descriptor names; nothing from it was used',
        },
      );
    }
    return rel;
  }

  async manifest(d: Descriptor): Promise<Verified<Manifest>> {
    if (d.size > DEFAULT_MANIFEST_CAP) {
      throw new TrustpinError('SIZE_EXCEEDED', `manifest ${d.digest} is ${d.size} bytes`, {
        expected: `at most ${DEFAULT_MANIFEST_CAP} bytes`,
        found: `${d.size} bytes`,
      });
    }
    const rel = await this.sized(d, 'manifest');
    const bytes = await this.fs.readCapped(rel, d.size, `manifest ${d.digest}`);
    const vb = verifyBytes(bytes, { digest: d.digest, size: d.size, what: 'manifest' });
    return parseManifest(vb, { descriptorMediaType: d.mediaType });
  }

  async blob(d: Descriptor): Promise<Readable> {
    const rel = await this.sized(d, 'blob');
    return verifiedStream(await this.fs.stream(rel, d.size), {
      digest: d.digest,
      size: d.size,
      what: 'blob',
    });
  }
}

function list(names: string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}

/** An image in an OCI layout (a directory or a tar). */
export class OciLayoutSource implements ImageSource {
  readonly transport: Transport;
  readonly name: string;
  readonly layout: OciLayout;
  private readonly selector: LayoutSelector;
  private resolved: Promise<Descriptor> | undefined;

  constructor(transport: Transport, name: string, layout: OciLayout, selector: LayoutSelector) {
    this.transport = transport;
    this.name = name;
    this.layout = layout;
    this.selector = selector;
  }
  resolve(): Promise<Descriptor> {
    this.resolved ??= this.select();
    return this.resolved;
  }
  /** Which index.json entry the user meant; docker-archive overrides this. */
  protected select(): Promise<Descriptor> {
    return this.layout.select(this.selector);
  }
  manifest(d: Descriptor): Promise<Verified<Manifest>> {
    return this.layout.manifest(d);
  }
  blob(d: Descriptor): Promise<Readable> {
    return this.layout.blob(d);
  }
  close(): Promise<void> {
    return this.layout.fs.close();
  }
}

export interface OciRef {
  dir: string;
  tag?: string | undefined;
  digest?: Digest | undefined;
}

/** OCI ref.name grammar (image-spec annotations), minus `/` and `:` which the split below cannot carry. */
const REF_NAME_RE = /^[A-Za-z0-9]+(?:(?:[-._@+]|--)[A-Za-z0-9]+)*$/;

/**
 * `DIR[:TAG|@DIGEST]` (what follows `oci:`). Only the last path segment is searched for the separators, so a
 * directory may contain `:` or `@` in its parents: `/mnt/c:d/layout:1.0` is `/mnt/c:d/layout`, tag `1.0`.
 */
export function parseOciRef(spec: string): OciRef {
  const bad = (why: string) =>
    new TrustpinError('REFERENCE_INVALID', `invalid OCI layout reference ${JSON.stringify(spec)}: ${why}`, {
      expected: 'DIR, DIR:TAG or DIR@sha256:<hex>',
      found: spec,
    });
  const slash = spec.lastIndexOf('/');
  const head = spec.slice(0, slash + 1);
  let last = spec.slice(slash + 1);
  let digest: Digest | undefined;
  let tag: string | undefined;
  // Only something shaped like a digest counts, so `dir@x:tag` stays a directory `dir@x` with a tag.
  const at = /@([a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,})$/.exec(last);
  if (at) {
    digest = parseDigest(at[1]!);
    last = last.slice(0, at.index);
    if (last.includes(':')) throw bad('give a tag or a digest, not both');
  }
  const colon = last.lastIndexOf(':');
  if (colon >= 0) {
    tag = last.slice(colon + 1);
    last = last.slice(0, colon);
    if (!REF_NAME_RE.test(tag))
      throw bad(tag === '' ? 'empty tag' : `${JSON.stringify(tag)} is not a valid ref name`);
  }
  const dir = head + last;
  if (dir === '') throw bad('no directory');
  return { dir, tag, digest };
}

export function layoutName(transport: Transport, file: string, sel: LayoutSelector): string {
  // a directory whose last segment holds `:` or `@` would read back as DIR:TAG or DIR@DIGEST; a trailing `/`
  // keeps it a directory, so a printed name always opens the same layout again
  if (transport !== 'docker-archive' && /[:@]/.test(path.basename(file))) file = `${file}/`;
  return `${transport}:${file}${sel.tag === undefined ? '' : `:${sel.tag}`}${sel.digest === undefined ? '' : `@${sel.digest}`}`;
}

/**
 * A source opened on first use. open.ts names sources synchronously; the file system is touched (and errors
 * such as NOT_FOUND or SOURCE_INVALID surface) at the first resolve/manifest/blob.
 */
export class LazySource implements ImageSource {
  readonly transport: Transport;
  readonly name: string;
  private readonly opener: () => Promise<ImageSource>;
  private inner: Promise<ImageSource> | undefined;
  constructor(transport: Transport, name: string, opener: () => Promise<ImageSource>) {
    this.transport = transport;
    this.name = name;
    this.opener = opener;
  }
  /** The opened source (memoised, a failure included). */
  open(): Promise<ImageSource> {
    this.inner ??= this.opener();
    return this.inner;
  }
  async resolve(o?: SourceCallOptions): Promise<Descriptor> {
    throwIfAborted(o, this.name);
    return (await this.open()).resolve(o);
  }
  async manifest(d: Descriptor, o?: SourceCallOptions): Promise<Verified<Manifest>> {
    throwIfAborted(o, `manifest ${d.digest}`);
    return (await this.open()).manifest(d, o);
  }
  /** A file read cannot stall on a server, but a caller that gives up still gets ABORTED and a closed file. */
  async blob(d: Descriptor, o?: SourceCallOptions): Promise<Readable> {
    const what = `blob ${d.digest}`;
    throwIfAborted(o, what);
    const s = await (await this.open()).blob(d, o);
    throwIfAborted(o, what);
    return abortableStream(s, o, what);
  }
  async close(): Promise<void> {
    if (!this.inner) return;
    const inner = await this.inner.catch(() => undefined); // a failed open left nothing open
    await inner?.close();
  }
}

/** `oci:DIR[:TAG|@DIGEST]` → a source; the spec is what follows `oci:`. Only parsing happens here. */
export function openOciLayout(spec: string): LazySource {
  const ref = parseOciRef(spec);
  const dir = path.resolve(ref.dir);
  const name = layoutName('oci', dir, ref);
  return new LazySource('oci', name, async () => {
    try {
      if (!(await stat(dir)).isDirectory())
        throw new TrustpinError('SOURCE_INVALID', `${dir} is not a directory`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new TrustpinError('NOT_FOUND', `no OCI layout at ${dir}`, { found: 'no such directory' });
      }
      throw ioError(e, dir);
    }
    const layout = new OciLayout(new DirFs(dir));
    await layout.check();
    return new OciLayoutSource('oci', name, layout, ref);
  });
}
