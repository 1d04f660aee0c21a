// Writes an OCI image layout (oci-layout, index.json, blobs/sha256/<hex>) straight from built blobs, so skopeo
// can push exact bytes with `oci:DIR:REF` and tests can read the same images without a registry.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Blob } from '../../src/demo/build.js';
import {
  blobPath,
  emptyIndex,
  INDEX_FILE,
  indexEntry,
  MARKER_FILE,
  markerText,
  REF_NAME,
} from '../../src/source/index.js';

export const REF_NAME_ANNOTATION = REF_NAME;

export interface LayoutRef {
  /** the tag in `oci:DIR:name` */
  name: string;
  /** the manifest or index this name points at; its blob must be among the written blobs */
  target: Blob;
}

/** Write a layout at `dir` whose index.json names exactly `refs`; blobs are content-addressed, rewriting is harmless. */
export async function writeOciLayout(dir: string, blobs: Blob[], refs: LayoutRef[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MARKER_FILE), markerText());
  const have = new Set<string>();
  for (const b of blobs) {
    const file = join(dir, blobPath(b.digest));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, b.bytes);
    have.add(b.digest);
  }
  const manifests = refs.map((r) => {
    if (!have.has(r.target.digest))
      throw new Error(`oci layout writer: ref ${r.name} points at an unwritten blob`);
    return indexEntry(r.target, r.name);
  });
  await writeFile(join(dir, INDEX_FILE), JSON.stringify({ ...emptyIndex(), manifests }));
}
