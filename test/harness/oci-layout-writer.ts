// Writes an OCI image layout (oci-layout, index.json, blobs/sha256/<hex>) straight from built blobs, so skopeo
// can push exact bytes with `oci:DIR:REF` and tests can read the same images without a registry.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Blob } from '../../src/demo/build.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export interface LayoutRef {
  /** the tag in `oci:DIR:name` */
  name: string;
  /** the manifest or index this name points at; its blob must be among the written blobs */
  target: Blob;
}

/** Write a layout at `dir` whose index.json names exactly `refs`; blobs are content-addressed, rewriting is harmless. */
export async function writeOciLayout(dir: string, blobs: Blob[], refs: LayoutRef[]): Promise<void> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const have = new Set<string>();
  for (const b of blobs) {
    const [algo, hex] = b.digest.split(':');
    // Everything the demo builder makes is sha256; another algorithm would need another directory.
    if (algo !== 'sha256' || !hex) throw new Error(`oci layout writer: unsupported digest ${b.digest}`);
    await writeFile(join(blobDir, hex), b.bytes);
    have.add(b.digest);
  }
  const manifests = refs.map((r) => {
    if (!have.has(r.target.digest))
      throw new Error(`oci layout writer: ref ${r.name} points at an unwritten blob`);
    return {
      mediaType: r.target.mediaType,
      digest: r.target.digest,
      size: r.target.size,
      annotations: { [REF_NAME_ANNOTATION]: r.name },
    };
  });
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
}
