// docker:// — an image in a registry. The tag is resolved by fetching the manifest and hashing its bytes (the
// Docker-Content-Digest header is never trusted); every later fetch is by digest and checked before parsing.
import type { Readable } from 'node:stream';
import { selfDigested, type Verified, verifyBytes } from '../digest/index.js';
import { isTrustpinError, TrustpinError } from '../errors/index.js';
import { type Descriptor, type Manifest, parseManifest, schema1Payload } from '../manifest/index.js';
import { formatReference, type Reference, withDefaultTag } from '../reference/index.js';
import type { RegistryClient } from '../registry/index.js';
import { DEFAULT_MANIFEST_CAP, type ImageSource, type SourceCallOptions } from './types.js';

/** Options of {@link RegistrySource}. */
export interface RegistrySourceOptions {
  manifestCap?: number;
  /**
   * the top manifest's bytes as already fetched from this repository (or a promise of them, undefined when that
   * fetch failed), for a reference by digest: `resolve()` verifies them against the digest (as it would a
   * registry's answer) instead of asking the registry again
   */
  known?: KnownBytes | Promise<KnownBytes | undefined> | undefined;
}

interface KnownBytes {
  bytes: Buffer;
  contentType: string | undefined;
}

/** An image in a registry (`docker://`). */
export class RegistrySource implements ImageSource {
  readonly transport = 'docker' as const;
  readonly reference: Reference;
  readonly name: string;
  private readonly cap: number;
  private readonly known: RegistrySourceOptions['known'];
  /** manifests already fetched and verified in this run, by digest */
  private readonly seen = new Map<string, { bytes: Buffer; contentType: string | undefined }>();
  /** the top-level descriptor once resolved: verify and walk both ask, and the registry is asked once */
  private resolving: Promise<Descriptor> | undefined;

  constructor(
    ref: Reference,
    private readonly client: RegistryClient,
    opts: RegistrySourceOptions = {},
  ) {
    this.reference = withDefaultTag(ref);
    this.name = `docker://${formatReference(this.reference)}`;
    this.cap = opts.manifestCap ?? DEFAULT_MANIFEST_CAP;
    this.known = opts.known;
  }

  /** The bytes of a manifest this source fetched and verified (by digest), for another reader of the same image. */
  fetched(digest: string): { bytes: Buffer; contentType: string | undefined } | undefined {
    return this.seen.get(digest);
  }

  /**
   * Memoised; only a success is kept (a failed or aborted resolve is tried again by the next call). A caller
   * that joined another caller's resolve, which was then aborted, tries again under its own signal.
   */
  async resolve(o: SourceCallOptions = {}): Promise<Descriptor> {
    for (;;) {
      this.resolving ??= this.fetchTop(o);
      const p = this.resolving;
      try {
        return await p;
      } catch (e) {
        if (this.resolving === p) this.resolving = undefined;
        const mine = o.signal?.aborted || this.client.opts.signal?.aborted;
        if (!isTrustpinError(e, 'ABORTED') || mine) throw e;
      }
    }
  }

  private async fetchTop(o: SourceCallOptions): Promise<Descriptor> {
    const { registry, repository, digest, tag } = this.reference;
    const ref = digest ?? tag!;
    const known = digest ? await this.known : undefined;
    const res =
      known && known.bytes.length <= this.cap
        ? known
        : await this.client.getManifest(registry, repository, ref, this.cap, o);
    const payload = schema1Payload(res.bytes);
    // By digest: the bytes must match it. By tag: the digest is what we compute, whatever the header says.
    const vb = digest
      ? verifyBytes(res.bytes, { digest, what: 'manifest' }, payload)
      : selfDigested(res.bytes, 'sha256', payload);
    const parsed = parseManifest(vb, { contentType: res.contentType });
    this.seen.set(vb.digest, { bytes: res.bytes, contentType: res.contentType });
    return { mediaType: parsed.value.mediaType, digest: vb.digest, size: vb.size };
  }

  async manifest(d: Descriptor, o: SourceCallOptions = {}): Promise<Verified<Manifest>> {
    let got = this.seen.get(d.digest);
    if (!got) {
      if (d.size > this.cap) {
        throw new TrustpinError(
          'SIZE_EXCEEDED',
          `manifest ${d.digest} is ${d.size} bytes, over the ${this.cap}-byte limit`,
          {
            expected: `at most ${this.cap} bytes`,
            found: `${d.size} bytes (descriptor)`,
          },
        );
      }
      const { registry, repository } = this.reference;
      got = await this.client.getManifest(registry, repository, d.digest, this.cap, o);
    }
    const payload = schema1Payload(got.bytes);
    const vb = verifyBytes(
      got.bytes,
      { digest: d.digest, size: payload ? undefined : d.size, what: 'manifest' },
      payload,
    );
    this.seen.set(d.digest, got);
    return parseManifest(vb, { descriptorMediaType: d.mediaType, contentType: got.contentType });
  }

  async blob(d: Descriptor, o: SourceCallOptions = {}): Promise<Readable> {
    const { registry, repository } = this.reference;
    return this.client.blob(registry, repository, d, o);
  }

  async close(): Promise<void> {}
}
