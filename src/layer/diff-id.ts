// diff_id of a layer: the digest of its uncompressed tar, computed from a verified blob. Equal diff_ids mean the
// same file-system changes even when the compressed blobs (and so the layer digests) differ.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../digest/index.js';
import type { Descriptor } from '../manifest/index.js';
import type { ImageSource } from '../source/types.js';
import { compressionOf, decompressor, type Limits } from './decompress.js';
import { fetchVerifiedFile, type VerifiedFile } from './verified-file.js';

/** Decompressed bytes of a verified layer file, fed to `sink`. */
export async function readLayer(
  f: VerifiedFile,
  sink: (s: AsyncIterable<Buffer>) => Promise<void>,
  limits?: Limits,
): Promise<void> {
  const fh = await open(f.path, 'r');
  const head = Buffer.alloc(4);
  await fh.read(head, 0, 4, 0);
  await fh.close();
  let inBytes = 0;
  const input = f.open();
  input.on('data', (c) => {
    inBytes += c.length;
  });
  const stages = decompressor(
    compressionOf(f.descriptor.mediaType, head),
    () => inBytes,
    `layer ${f.descriptor.digest}`,
    limits,
  );
  // biome-ignore lint/suspicious/noExplicitAny: pipeline's overloads cannot type a spread of stages
  await (pipeline as (...s: any[]) => Promise<void>)(input, ...stages, sink);
}

export async function diffIdOf(
  src: ImageSource,
  d: Descriptor,
  limits?: Limits,
): Promise<{ diffId: Digest; size: number }> {
  const f = await fetchVerifiedFile(src, d);
  try {
    const h = createHash('sha256');
    let size = 0;
    await readLayer(
      f,
      async (s) => {
        for await (const c of s) {
          h.update(c);
          size += c.length;
        }
      },
      limits,
    );
    return { diffId: `sha256:${h.digest('hex')}` as Digest, size };
  } finally {
    await f.dispose();
  }
}
