// A blob proven before use: streamed into a private temp file while its digest is checked, and handed out only
// after the check passed. Decompressors and tar parsers read from here, never from the network.
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../manifest/index.js';
import type { ImageSource } from '../source/types.js';

export interface VerifiedFile {
  path: string;
  descriptor: Descriptor;
  open(): ReadStream;
  dispose(): Promise<void>;
}

export async function fetchVerifiedFile(
  src: ImageSource,
  d: Descriptor,
  dir?: string,
): Promise<VerifiedFile> {
  const base = dir ?? (await mkdtemp(join(tmpdir(), 'trustpin-blob-')));
  const path = join(base, d.digest.replace(':', '-'));
  try {
    await pipeline(await src.blob(d), createWriteStream(path, { mode: 0o600 }));
  } catch (e) {
    await rm(path, { force: true });
    if (!dir) await rm(base, { recursive: true, force: true });
    throw e;
  }
  return {
    path,
    descriptor: d,
    open: () => createReadStream(path),
    dispose: async () => {
      await rm(path, { force: true });
      if (!dir) await rm(base, { recursive: true, force: true });
    },
  };
}
