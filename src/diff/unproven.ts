// A registry's layer blob written to a temp file as it arrives, size-capped but not hashed: the SHA-256 of a
// 128 MiB blob on the thread that moves every download was the diff's critical path on a loaded machine. The file
// is proven (length and digest, proveFileSync in prove-file.ts) on the parser thread before a single byte of it is
// decompressed or parsed; until then it is an UnprovenFile, which nothing that reads layers accepts.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../manifest/index.js';
import type { BlobOptions } from '../registry/index.js';
import type { ImageSource, SourceCallOptions } from '../source/index.js';

/** A downloaded blob whose digest nobody has checked yet: it must be proven before any read of its content. */
export interface UnprovenFile {
  readonly proven: false;
  path: string;
  descriptor: Descriptor;
  dispose(): Promise<void>;
}

let unhashed: (SourceCallOptions & BlobOptions) | undefined;
/**
 * The blob call of the diff's big-layer downloads from a registry: its client returns the body size-capped
 * (never more than the descriptor's size, a short body is SIZE_MISMATCH) but not hashed. Imported on first use:
 * a parser thread loads this folder's chunk, and must not load the registry client with it (the main thread has
 * it already).
 */
async function unhashedOptions(): Promise<SourceCallOptions & BlobOptions> {
  unhashed ??= { [(await import('../registry/index.js')).CALLER_VERIFIES]: true } as SourceCallOptions &
    BlobOptions;
  return unhashed;
}

/**
 * Whether a source's blobs may be fetched unhashed and proven from the file afterwards: a registry's (its client
 * honours {@link CALLER_VERIFIES}). The other sources verify as they stream and ignore the option — their blobs
 * are local reads, not worth a second code path.
 */
export function fetchesUnhashed(src: ImageSource): boolean {
  return src.transport === 'docker';
}

/** Write the blob `d` to a private temp file unhashed; the caller proves it before anything reads it. */
export async function fetchUnprovenFile(src: ImageSource, d: Descriptor): Promise<UnprovenFile> {
  const base = await mkdtemp(join(tmpdir(), 'trustpin-blob-'));
  const path = join(base, d.digest.replace(':', '-'));
  const dispose = () => rm(base, { recursive: true, force: true });
  try {
    await pipeline(await src.blob(d, await unhashedOptions()), createWriteStream(path, { mode: 0o600 }));
  } catch (e) {
    await dispose();
    throw e;
  }
  return { proven: false, path, descriptor: d, dispose };
}
