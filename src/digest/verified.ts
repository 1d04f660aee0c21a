// Verified<T>: the only way to obtain parsed content. Bytes become `VerifiedBytes` only inside `verifyBytes`
// (or the streaming verifier), and parsers accept nothing else, so "parse before verify" does not type-check.
import { TrustpinError } from '../errors/index.js';
import { algorithmOf, type Digest, digestOf } from './digest.js';

const KEY = Symbol('verified');

/** Bytes whose digest was checked; only the verifying functions construct it. */
export class VerifiedBytes {
  readonly bytes: Buffer;
  readonly digest: Digest;
  private constructor(key: symbol, bytes: Buffer, digest: Digest) {
    if (key !== KEY) throw new TrustpinError('INTERNAL', 'VerifiedBytes can only be built by verifyBytes');
    this.bytes = bytes;
    this.digest = digest;
  }
  get size(): number {
    return this.bytes.length;
  }
  /** @internal used by verifyBytes and the streaming verifier only */
  static _make(key: symbol, bytes: Buffer, digest: Digest): VerifiedBytes {
    return new VerifiedBytes(key, bytes, digest);
  }
}

/** Parsed content tied to the verified bytes it came from. */
export interface Verified<T> {
  readonly value: T;
  readonly digest: Digest;
  readonly bytes: Buffer;
}

/** What bytes must match: a digest, optionally a size, and what they are (for messages). */
export interface Expectation {
  digest: Digest;
  size?: number | undefined;
  /** what the bytes are, for messages: "manifest", "config", "layer" */
  what?: string;
}

/**
 * Check bytes against a digest and size. `digestInput` is for the one format whose digest covers derived bytes
 * (signed schema1 manifests: the JWS payload); everything else is hashed exactly as received.
 */
export function verifyBytes(bytes: Uint8Array, want: Expectation, digestInput?: Buffer): VerifiedBytes {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const what = want.what ?? 'content';
  if (want.size !== undefined && b.length !== want.size) {
    throw new TrustpinError('SIZE_MISMATCH', `${what} ${want.digest} has the wrong length`, {
      expected: `${want.size} bytes`,
      found: `${b.length} bytes`,
      hint: 'the source served different bytes than the descriptor names; do not use this content',
    });
  }
  const got = digestOf(digestInput ?? b, algorithmOf(want.digest));
  if (got !== want.digest) {
    throw new TrustpinError('DIGEST_MISMATCH', `${what} bytes do not match their digest`, {
      expected: want.digest,
      found: got,
      hint: 'the source served different bytes than were asked for; do not use this content',
    });
  }
  return VerifiedBytes._make(KEY, b, want.digest);
}

/** Content whose digest was computed here (a tag fetch): trusted to be *these* bytes, nothing more. */
export function selfDigested(
  bytes: Uint8Array,
  algo: 'sha256' | 'sha512' = 'sha256',
  digestInput?: Buffer,
): VerifiedBytes {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return VerifiedBytes._make(KEY, b, digestOf(digestInput ?? b, algo));
}
