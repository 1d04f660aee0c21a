// The OCI image layout on disk, for the reader (`oci:` sources) and the writer (the pull store) alike: the
// `oci-layout` marker, index.json's shape and how a tag names an entry, and the blob path a digest maps to.
import { algorithmOf, hexOf, parseDigest } from '../digest/index.js';
import type { Descriptor } from '../manifest/index.js';

/** The annotation that names an index.json entry: the TAG in `oci:DIR:TAG`. */
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** The layout version written; any 1.x.y is read (a later minor version stays compatible). */
export const LAYOUT_VERSION = '1.0.0';
export const MARKER_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';

/** blobs/<alg>/<hex>, built only from a digest that parses: nothing else can reach the file system. */
export function blobPath(digest: string): string {
  const d = parseDigest(digest);
  return `blobs/${algorithmOf(d)}/${hexOf(d)}`;
}

/** The `oci-layout` file's content, as written. */
export function markerText(): string {
  return JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION });
}

/** What an `oci-layout` file says: a supported version, or why it is not one (for the caller's own error). */
export type MarkerCheck = { ok: true; version: string } | { ok: false; why: string; found?: string };

export function checkMarker(raw: string): MarkerCheck {
  let version: unknown;
  try {
    version = (JSON.parse(raw) as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  } catch (e) {
    return { ok: false, why: `oci-layout is not JSON (${(e as Error).message})`, found: raw.slice(0, 80) };
  }
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    return { ok: false, why: 'unsupported imageLayoutVersion', found: JSON.stringify(version) };
  }
  return { ok: true, version };
}

/** index.json as written: an image index whose entries are the layout's images. */
export interface LayoutIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  [k: string]: unknown;
}

export function emptyIndex(): LayoutIndex {
  return { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [] };
}

/** An index.json entry for `top`, named `tag` when given. */
export function indexEntry(top: Descriptor, tag?: string): Descriptor {
  const entry: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.size };
  if (tag !== undefined) entry.annotations = { [REF_NAME]: tag };
  return entry;
}

/**
 * `index` with `tag` (or an unnamed entry) pointing at `top`: an entry of the same name is replaced, and an
 * unnamed entry for the same digest is not added twice; every other entry is kept as it was.
 */
export function withIndexEntry(index: LayoutIndex, top: Descriptor, tag: string | undefined): LayoutIndex {
  const manifests = index.manifests.filter((m) =>
    tag !== undefined
      ? m.annotations?.[REF_NAME] !== tag
      : m.annotations?.[REF_NAME] !== undefined || m.digest !== top.digest,
  );
  return { ...index, manifests: [...manifests, indexEntry(top, tag)] };
}
