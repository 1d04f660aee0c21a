// Streaming verification: bytes pass through while being hashed and counted; the stream fails as soon as it
// grows past the descriptor's size, and at its end when the digest or length is wrong. A consumer must treat
// everything it received as untrusted until the stream has ended without error.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { TrustpinError } from '../errors/index.js';
import { algorithmOf, type Digest } from './digest.js';
import type { Expectation } from './verified.js';

export class DigestVerifier extends Transform {
  readonly expected: Expectation;
  private readonly hash: Hash;
  private count = 0;
  private done = false;

  constructor(expected: Expectation, opts: { skipBytes?: Buffer } = {}) {
    super();
    this.expected = expected;
    this.hash = createHash(algorithmOf(expected.digest));
    // A resumed download re-hashes the prefix it already has, so the check covers the whole blob.
    if (opts.skipBytes) {
      this.hash.update(opts.skipBytes);
      this.count = opts.skipBytes.length;
    }
  }

  get bytesSeen(): number {
    return this.count;
  }
  get verified(): boolean {
    return this.done;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.count += chunk.length;
    const size = this.expected.size;
    if (size !== undefined && this.count > size) {
      cb(
        new TrustpinError(
          'SIZE_EXCEEDED',
          `${this.expected.what ?? 'blob'} ${this.expected.digest} is longer than its descriptor`,
          {
            expected: `${size} bytes`,
            found: `more than ${size} bytes`,
            hint: 'the source is serving other content or an endless body; nothing from it was used',
          },
        ),
      );
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const size = this.expected.size;
    if (size !== undefined && this.count !== size) {
      cb(
        new TrustpinError(
          'SIZE_MISMATCH',
          `${this.expected.what ?? 'blob'} ${this.expected.digest} is shorter than its descriptor`,
          {
            expected: `${size} bytes`,
            found: `${this.count} bytes`,
            hint: 'the body ended early; retry, and if it persists the source is serving other content',
          },
        ),
      );
      return;
    }
    const got = `${algorithmOf(this.expected.digest)}:${this.hash.digest('hex')}`;
    if (got !== this.expected.digest) {
      cb(
        new TrustpinError(
          'DIGEST_MISMATCH',
          `${this.expected.what ?? 'blob'} bytes do not match their digest`,
          {
            expected: this.expected.digest,
            found: got,
            hint: 'the source served different bytes than were asked for; discard them',
          },
        ),
      );
      return;
    }
    this.done = true;
    cb();
  }
}

/** Read at most `cap` bytes; more is an error, never a truncation. */
export async function readCapped(
  source: AsyncIterable<Uint8Array>,
  cap: number,
  what = 'response body',
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of source) {
    n += c.length;
    if (n > cap) {
      throw new TrustpinError('SIZE_EXCEEDED', `${what} is larger than the ${cap}-byte limit`, {
        expected: `at most ${cap} bytes`,
        found: `more than ${cap} bytes`,
        hint: 'a manifest this large is not plausible; the source may be hostile (raise the limit only if you trust it)',
      });
    }
    chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  }
  return Buffer.concat(chunks, n);
}

/** Hash a whole stream (for `digest --file`). */
export async function digestStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  algo: 'sha256' | 'sha512' = 'sha256',
) {
  const h = createHash(algo);
  let size = 0;
  for await (const c of source) {
    h.update(c);
    size += c.length;
  }
  return { digest: `${algo}:${h.digest('hex')}` as Digest, size };
}
