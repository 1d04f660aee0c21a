// A blob proven before use: streamed into a private temp file while its digest is checked, and handed out only
// after the check passed. Decompressors and tar parsers read from here, never from the network.
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../manifest/index.js';
import type { ImageSource } from '../source/index.js';

export interface OpenedFile {
  /** read with positional reads only: the handle may be shared */
  fh: FileHandle;
  release(): Promise<void>;
}

export interface VerifiedFile {
  path: string;
  descriptor: Descriptor;
  /** a handle on the verified bytes; `release` closes it when it is the reader's own */
  handle(): Promise<OpenedFile>;
  /** told of every (compressed) byte read: progress */
  onRead?: ((n: number) => void) | undefined;
  dispose(): Promise<void>;
}

/** A VerifiedFile over a path whose content the caller has already proven. */
export function verifiedFileAt(
  path: string,
  descriptor: Descriptor,
  opts: { onRead?: (n: number) => void; dispose?: () => Promise<void> } = {},
): VerifiedFile {
  return {
    path,
    descriptor,
    handle: async () => {
      const fh = await open(path, 'r');
      return { fh, release: () => fh.close() };
    },
    onRead: opts.onRead,
    dispose: opts.dispose ?? (async () => undefined),
  };
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
  return verifiedFileAt(path, d, {
    dispose: async () => {
      await rm(path, { force: true });
      if (!dir) await rm(base, { recursive: true, force: true });
    },
  });
}
