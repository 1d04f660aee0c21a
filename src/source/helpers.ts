// Helpers every source shares: read a small blob fully (config), capped and verified, as VerifiedBytes.
import { readCapped, type Verified, type VerifiedBytes, verifyBytes } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { type Descriptor, type ImageConfig, parseImageConfig } from '../manifest/index.js';
import { DEFAULT_CONFIG_CAP, type ImageSource } from './types.js';

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
