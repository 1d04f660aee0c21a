// Helpers every source shares: read a small blob fully (config), capped and verified, as VerifiedBytes.
import { finished, type Readable } from 'node:stream';
import { readCapped, type Verified, type VerifiedBytes, verifyBytes } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { type Descriptor, type ImageConfig, parseImageConfig } from '../manifest/index.js';
import { abortedError } from '../registry/index.js';
import { DEFAULT_CONFIG_CAP, type ImageSource, type SourceCallOptions } from './types.js';

/** Throws ABORTED when the call's signal has fired (local sources check before each read). */
export function throwIfAborted(o: SourceCallOptions | undefined, what: string): void {
  if (o?.signal?.aborted) throw abortedError(what, o.signal);
}

/** A file-backed blob stream that errors with ABORTED (and closes its file) when the signal fires. */
export function abortableStream(s: Readable, o: SourceCallOptions | undefined, what: string): Readable {
  const signal = o?.signal;
  if (!signal) return s;
  const onAbort = () => s.destroy(abortedError(what, signal));
  signal.addEventListener('abort', onAbort, { once: true });
  finished(s, () => signal.removeEventListener('abort', onAbort));
  return s;
}

export async function readVerifiedBlob(
  src: ImageSource,
  d: Descriptor,
  cap = DEFAULT_CONFIG_CAP,
  signal?: AbortSignal,
): Promise<VerifiedBytes> {
  if (d.size > cap) {
    throw new TrustpinError(
      'SIZE_EXCEEDED',
      `blob ${d.digest} is ${d.size} bytes, over the ${cap}-byte limit`,
      {
        expected: `at most ${cap} bytes`,
        found: `${d.size} bytes`,
      },
    );
  }
  const stream = await src.blob(d, { signal });
  const bytes = await readCapped(stream, cap, `blob ${d.digest}`);
  // The stream already verified; checking again costs little and makes the type say so.
  return verifyBytes(bytes, { digest: d.digest, size: d.size, what: 'blob' });
}

export async function readConfig(
  src: ImageSource,
  d: Descriptor,
  signal?: AbortSignal,
): Promise<Verified<ImageConfig>> {
  return parseImageConfig(await readVerifiedBlob(src, d, DEFAULT_CONFIG_CAP, signal));
}
