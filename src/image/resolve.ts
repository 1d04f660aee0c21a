// Tag → digest resolution (the core of `trustpin digest` and of a future `pin`): the digest is computed from the
// verified bytes, and the pinned form is one that trustpin itself accepts back for every transport.
import type { Digest } from '../digest/index.js';
import type { Platform } from '../manifest/index.js';
import { fullName } from '../reference/index.js';
import { type ImageSource, parseOciRef, RegistrySource } from '../source/index.js';
import { selectPlatform, walkImage } from './walk.js';

/** Options of {@link resolveDigest}. */
export interface ResolveOptions {
  /** the platform manifest's digest instead of the index's (PLATFORM_NOT_FOUND when the image has none) */
  platform?: Platform | undefined;
  /** aborts the fetches: the call rejects with ABORTED */
  signal?: AbortSignal | undefined;
}

/** One image string resolved: what was asked, the pinned form to use instead, the digest and its media type. */
export interface DigestResult {
  /** the source as named (`docker://127.0.0.1:5000/demo/app:1.0`) */
  reference: string;
  /** NAME@DIGEST in the source's own transport: `ghcr.io/o/a@sha256:…`, `oci:/dir@sha256:…` */
  pinned: string;
  digest: Digest;
  mediaType: string;
}

/**
 * Resolve `source` to its digest: the top-level manifest's (index or image), or with `platform` that platform's
 * manifest. Every manifest on the way is fetched by digest and verified before it is parsed.
 * @throws TrustpinError PLATFORM_NOT_FOUND, and whatever the source throws (NAME_UNKNOWN, MANIFEST_UNKNOWN, …)
 */
export async function resolveDigest(source: ImageSource, opts: ResolveOptions = {}): Promise<DigestResult> {
  let digest: Digest;
  let mediaType: string;
  if (opts.platform) {
    const n = selectPlatform(
      await walkImage(source, { platform: opts.platform, signal: opts.signal }),
      opts.platform,
    );
    digest = n.descriptor.digest as Digest;
    mediaType = n.manifest.value.mediaType;
  } else {
    const d = await source.resolve({ signal: opts.signal });
    // resolve() hashed the bytes; parsing them proves it is a manifest trustpin understands
    await source.manifest(d, { signal: opts.signal });
    digest = d.digest as Digest;
    mediaType = d.mediaType;
  }
  return { reference: source.name, pinned: pinnedName(source, digest), digest, mediaType };
}

/**
 * The name of `digest` in `source`'s transport, in a form `openSource` accepts: a registry's repository, an OCI
 * layout's directory (a tag and a digest cannot both select), a docker archive's image name kept (it selects the
 * image in the tar; the digest then pins it).
 */
export function pinnedName(source: ImageSource, digest: string): string {
  if (source instanceof RegistrySource) return `${fullName(source.reference)}@${digest}`;
  const colon = source.name.indexOf(':');
  const transport = source.name.slice(0, colon);
  const rest = source.name.slice(colon + 1).replace(/@[a-z0-9]+:[0-9a-f]+$/, '');
  if (transport === 'docker-archive') return `${transport}:${rest}@${digest}`;
  return `${transport}:${parseOciRef(rest).dir}@${digest}`;
}
