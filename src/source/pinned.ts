// A source named with a digest pin on top of a name (`docker-archive:FILE:app:1.0@sha256:…`): the name selects,
// the pin must then be the selected image or one of its index's manifests, or nothing is served.
import type { Readable } from 'node:stream';
import type { Digest, Verified } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import type { Descriptor, Manifest } from '../manifest/index.js';
import type { ImageSource, SourceCallOptions, Transport } from './types.js';

export class PinnedSource implements ImageSource {
  readonly transport: Transport;
  readonly name: string;
  private top: Promise<Descriptor> | undefined;
  constructor(
    private readonly inner: ImageSource,
    readonly pin: Digest,
  ) {
    this.transport = inner.transport;
    this.name = `${inner.name}@${pin}`;
  }

  /** Memoised like every source's: the first caller's signal governs the one read. */
  resolve(o?: SourceCallOptions): Promise<Descriptor> {
    this.top ??= (async () => {
      const top = await this.inner.resolve(o);
      if (top.digest === this.pin) return top;
      const m = (await this.inner.manifest(top, o)).value;
      const child = m.kind === 'index' ? m.manifests.find((d) => d.digest === this.pin) : undefined;
      if (child) return child;
      throw new TrustpinError('DIGEST_MISMATCH', `${this.inner.name} is not the pinned image`, {
        expected: this.pin,
        found: top.digest,
        hint: 'the name now selects another image; re-pin it, or drop the name and keep the digest',
      });
    })();
    // a failure (an abort above all) is not kept: the next caller reads again
    const p = this.top;
    p.catch(() => {
      if (this.top === p) this.top = undefined;
    });
    return p;
  }
  manifest(d: Descriptor, o?: SourceCallOptions): Promise<Verified<Manifest>> {
    return this.inner.manifest(d, o);
  }
  blob(d: Descriptor, o?: SourceCallOptions): Promise<Readable> {
    return this.inner.blob(d, o);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
