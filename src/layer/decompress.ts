// Layer decompression, applied only to bytes whose digest has already been proven: gzip (node:zlib) or zstd
// (fzstd, pure JS, since Node 20's zlib has none), sniffed by magic bytes, with a cap on the output size and ratio.
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { TrustpinError } from '../errors/index.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export function compressionOf(mediaType: string, head?: Buffer): Compression {
  if (head && head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head && head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head) return 'none';
  if (/gzip/.test(mediaType)) return 'gzip';
  if (/zstd/.test(mediaType)) return 'zstd';
  return 'none';
}

export interface Limits {
  /** largest total output, bytes */
  maxBytes: number;
  /** largest output/input ratio once past 1 MiB of output */
  maxRatio: number;
}

export const DEFAULT_LIMITS: Limits = { maxBytes: 64 * 1024 ** 3, maxRatio: 1000 };

/** Counts input and output and stops a decompression bomb. */
class Guard extends Transform {
  out = 0;
  constructor(
    private readonly limits: Limits,
    private readonly inBytes: () => number,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(c: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.out += c.length;
    const ratio = this.out / Math.max(1, this.inBytes());
    if (this.out > this.limits.maxBytes || (this.out > 1024 * 1024 && ratio > this.limits.maxRatio)) {
      cb(
        new TrustpinError('SIZE_EXCEEDED', `${this.what} decompresses to more than allowed`, {
          expected: `at most ${this.limits.maxBytes} bytes and a ratio ≤ ${this.limits.maxRatio}`,
          found: `${this.out} bytes from ${this.inBytes()} (ratio ${ratio.toFixed(0)})`,
          hint: 'a decompression bomb, or a very unusual layer; raise the limit only for content you trust',
        }),
      );
      return;
    }
    cb(null, c);
  }
}

class Zstd extends Transform {
  private readonly d: Decompress;
  constructor() {
    super();
    this.d = new Decompress((chunk) => {
      this.push(Buffer.from(chunk));
    });
  }
  override _transform(c: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    try {
      this.d.push(c);
      cb();
    } catch (e) {
      cb(new TrustpinError('BLOB_INVALID', `zstd stream is corrupt: ${(e as Error).message}`));
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.d.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(new TrustpinError('BLOB_INVALID', `zstd stream is corrupt: ${(e as Error).message}`));
    }
  }
}

/** A transform that decompresses `kind`, counting `inBytes()` against the output for the ratio check. */
export function decompressor(
  kind: Compression,
  inBytes: () => number,
  what: string,
  limits: Limits = DEFAULT_LIMITS,
): Transform[] {
  const guard = new Guard(limits, inBytes, what);
  if (kind === 'none') return [guard];
  if (kind === 'gzip') {
    const g = createGunzip();
    g.on('error', () => undefined);
    return [g, guard];
  }
  return [new Zstd(), guard];
}
