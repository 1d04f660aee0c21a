// Content digests: strict `algo:hex` parsing (OCI image-spec rules) and hashing of exact bytes.
// A digest string that parses here is safe to put in a URL path and to compare byte-for-byte.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { TrustpinError } from '../errors/index.js';

/** Hash algorithms accepted in digests. */
export type Algorithm = 'sha256' | 'sha512';
/** A validated `algorithm:hex` digest string (build one with {@link parseDigest} or {@link digestOf}). */
export type Digest = string & { readonly __digest: unique symbol };

const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isAlgorithm(a: string): a is Algorithm {
  return a === 'sha256' || a === 'sha512';
}

/** Parse a digest; only algorithms trustpin can verify are accepted, with lowercase hex of the exact length. */
export function parseDigest(s: string): Digest {
  if (!GRAMMAR.test(s)) {
    throw new TrustpinError('DIGEST_INVALID', `not a digest: ${JSON.stringify(s)}`, {
      expected: 'ALGORITHM:HEX, e.g. sha256:<64 lowercase hex characters>',
      found: s,
    });
  }
  const i = s.indexOf(':');
  const algo = s.slice(0, i);
  const hex = s.slice(i + 1);
  if (!isAlgorithm(algo)) {
    throw new TrustpinError('DIGEST_UNVERIFIABLE', `digest algorithm ${algo} cannot be verified`, {
      expected: 'sha256 or sha512',
      found: algo,
      hint: 'content named by an unknown algorithm is never reported as verified',
    });
  }
  const want = HEX_LENGTH[algo];
  if (hex.length !== want || !/^[0-9a-f]+$/.test(hex)) {
    throw new TrustpinError('DIGEST_INVALID', `malformed ${algo} digest`, {
      expected: `${want} lowercase hex characters`,
      found: `${hex.length} characters${/[A-F]/.test(hex) ? ' (uppercase hex is not allowed)' : ''}`,
    });
  }
  return s as Digest;
}

/** True when `s` is a well-formed digest. */
export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

export function algorithmOf(d: Digest): Algorithm {
  return d.slice(0, d.indexOf(':')) as Algorithm;
}

export function hexOf(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** The digest of exact bytes. */
export function digestOf(bytes: Uint8Array, algo: Algorithm = 'sha256'): Digest {
  return `${algo}:${createHash(algo).update(bytes).digest('hex')}` as Digest;
}

/** Short form for humans: `sha256:0123456789ab`. */
export function shortDigest(d: string, n = 12): string {
  const i = d.indexOf(':');
  return i < 0 ? d.slice(0, n) : d.slice(0, i + 1 + n);
}

/**
 * Explain a digest mismatch in plain words when a common byte-level accident explains it: a trailing newline
 * added or removed (an editor, `echo`, `jq`), CRLF line endings, or a UTF-8 byte-order mark.
 */
export function explainMismatch(bytes: Uint8Array, expected: Digest): string | undefined {
  const algo = algorithmOf(expected);
  const b = Buffer.from(bytes);
  const candidates: Array<[Buffer, string]> = [];
  if (b.length > 0 && b[b.length - 1] === 0x0a) {
    const one = b.subarray(0, b.length - 1);
    candidates.push([one, 'the input ends with a newline that the signed bytes do not have (remove it)']);
    if (one.length > 0 && one[one.length - 1] === 0x0d) {
      candidates.push([
        b.subarray(0, b.length - 2),
        'the input ends with CRLF that the signed bytes do not have',
      ]);
    }
  }
  candidates.push([
    Buffer.concat([b, Buffer.from('\n')]),
    'the signed bytes end with a newline that the input lacks',
  ]);
  if (b.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))) {
    candidates.push([
      b.subarray(3),
      'the input starts with a UTF-8 byte-order mark that the signed bytes do not have',
    ]);
  }
  if (b.includes(0x0d)) {
    candidates.push([
      Buffer.from(b.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'),
      'CRLF line endings',
    ]);
  }
  for (const [c, why] of candidates) {
    if (digestOf(c, algo) === expected) return why;
  }
  return undefined;
}

/** The digest of a whole file, read through one reused buffer (fresh buffers per chunk cost page faults). */
export async function digestFile(path: string, algo: Algorithm = 'sha256'): Promise<Digest> {
  const fh = await open(path, 'r');
  try {
    const h = createHash(algo);
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
    return `${algo}:${h.digest('hex')}` as Digest;
  } finally {
    await fh.close();
  }
}
