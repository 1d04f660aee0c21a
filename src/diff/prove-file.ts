// The proof of an unproven layer file (unproven.ts): its length and digest, read and hashed on the thread that
// will parse it. Kept apart from the download so that a parser thread loads no registry client.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { algorithmOf, hexOf } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import type { Descriptor } from '../manifest/index.js';

const CHUNK = 1024 * 1024;

/**
 * Prove the file at `path` is the blob `d` names: its length and digest, read and hashed here (a parser thread
 * calls it, so blocking reads cost no one else anything). A mismatch is the coded error a verifying stream
 * gives: SIZE_MISMATCH for the length, DIGEST_MISMATCH for the bytes.
 */
export function proveFileSync(path: string, d: Descriptor): void {
  const h = createHash(algorithmOf(d.digest));
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  let size = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, size);
      if (n === 0) break;
      size += n;
      // a file longer than its descriptor cannot match: stop reading it
      if (size > d.size) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  judge(d, size, h.digest('hex'));
}

function judge(d: Descriptor, size: number, hex: string): void {
  if (size !== d.size)
    throw new TrustpinError('SIZE_MISMATCH', `layer ${d.digest}: the blob has the wrong length`, {
      expected: `${d.size} bytes`,
      found: size > d.size ? `more than ${d.size} bytes` : `${size} bytes`,
      hint: 'the source served other content; nothing from it was used',
    });
  if (hex !== hexOf(d.digest))
    throw new TrustpinError('DIGEST_MISMATCH', 'blob bytes do not match their digest', {
      expected: d.digest,
      found: `${algorithmOf(d.digest)}:${hex}`,
      hint: 'the source served different bytes than were asked for; discard them',
    });
}
