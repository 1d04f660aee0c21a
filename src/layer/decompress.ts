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

/** Caps on one decompressed layer: total bytes and the compression ratio (a bomb fails cleanly). */
export interface Limits {
  /** largest total output, bytes */
  maxBytes: number;
  /** largest output/input ratio once past 1 MiB of output */
  maxRatio: number;
}

export const DEFAULT_LIMITS: Limits = { maxBytes: 64 * 1024 ** 3, maxRatio: 1000 };

function tooBig(limits: Limits, what: string, out: number, inBytes: number): TrustpinError | undefined {
  const ratio = out / Math.max(1, inBytes);
  if (out <= limits.maxBytes && (out <= 1024 * 1024 || ratio <= limits.maxRatio)) return undefined;
  return new TrustpinError('SIZE_EXCEEDED', `${what} decompresses to more than allowed`, {
    expected: `at most ${limits.maxBytes} bytes and a ratio ≤ ${limits.maxRatio}`,
    found: `${out} bytes from ${inBytes} (ratio ${ratio.toFixed(0)})`,
    hint: 'a decompression bomb, or a very unusual layer; raise the limit only for content you trust',
  });
}

/** Counts input and output, stops a decompression bomb, and shows every output chunk to `tap` (the diff_id hash). */
class Guard extends Transform {
  out = 0;
  constructor(
    private readonly limits: Limits,
    private readonly inBytes: () => number,
    private readonly what: string,
    private readonly tap?: (c: Buffer) => void,
  ) {
    // a few MiB of slack lets the decompressor (on the thread pool) run ahead while the consumer writes files
    super({ readableHighWaterMark: 4 * 1024 * 1024 });
  }
  override _transform(c: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.out += c.length;
    this.tap?.(c);
    cb(tooBig(this.limits, this.what, this.out, this.inBytes()), c);
  }
}

/** zstd refuses windows over 128 MiB unless told otherwise (`--memory`); so does trustpin. */
const MAX_ZSTD_WINDOW = 128 * 1024 * 1024;
/** fzstd decodes a whole input chunk synchronously; small slices keep backpressure (and memory) bounded. */
const ZSTD_SLICE = 64 * 1024;

/** The window (or, for a single-segment frame, the content size) that fzstd would allocate for a frame. */
function zstdWindow(h: Buffer): number | undefined {
  if (h.length < 6 || h.readUInt32LE(0) !== 0xfd2fb528) return undefined;
  const fhd = h[4]!;
  const single = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  if (!single) {
    const wd = h[5]!;
    const base = 2 ** (10 + (wd >> 3));
    return base + (base / 8) * (wd & 7);
  }
  const did = [0, 1, 2, 4][fhd & 3]!;
  const at = 5 + did;
  const n = fcsFlag === 0 ? 1 : 2 ** fcsFlag;
  if (h.length < at + n) return undefined;
  if (n === 1) return h[at]!;
  if (n === 2) return h.readUInt16LE(at) + 256;
  if (n === 4) return h.readUInt32LE(at);
  return Number(h.readBigUInt64LE(at));
}

class Zstd extends Transform {
  private readonly d: Decompress;
  private out = 0;
  private consumed = 0;
  private head: Buffer | undefined = Buffer.alloc(0);
  constructor(
    private readonly limits: Limits,
    private readonly what: string,
  ) {
    super();
    this.d = new Decompress((chunk) => {
      this.out += chunk.length;
      // checked inside the decoder's callback: one input slice can expand a lot before control returns
      const e = tooBig(this.limits, this.what, this.out, this.consumed);
      if (e) throw e;
      this.push(Buffer.from(chunk));
    });
  }
  private checkWindow(c: Buffer): void {
    if (!this.head) return;
    this.head = Buffer.concat([this.head, c.subarray(0, 32)]);
    if (this.head.length < 18) return;
    const w = zstdWindow(this.head);
    this.head = undefined;
    if (w !== undefined && w > MAX_ZSTD_WINDOW)
      throw new TrustpinError('SIZE_EXCEEDED', `${this.what}: zstd frame needs a ${w}-byte window`, {
        expected: `a window of at most ${MAX_ZSTD_WINDOW} bytes`,
        found: `${w} bytes`,
        hint: 'the decoder would allocate that much memory up front; a hostile or very unusual layer',
      });
  }
  override _transform(c: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    try {
      this.checkWindow(c);
      for (let i = 0; i < c.length; i += ZSTD_SLICE) {
        const s = c.subarray(i, i + ZSTD_SLICE);
        this.consumed += s.length;
        this.d.push(s);
      }
      cb();
    } catch (e) {
      cb(asZstdError(e));
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.d.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(asZstdError(e));
    }
  }
}

function asZstdError(e: unknown): TrustpinError {
  if (e instanceof TrustpinError) return e;
  return new TrustpinError('BLOB_INVALID', `zstd stream is corrupt: ${(e as Error).message}`);
}

/**
 * A transform that decompresses `kind`, counting `inBytes()` against the output for the ratio check; `tap` sees
 * every decompressed byte, in order, before the consumer does.
 */
export function decompressor(
  kind: Compression,
  inBytes: () => number,
  what: string,
  limits: Limits = DEFAULT_LIMITS,
  tap?: (c: Buffer) => void,
): Transform[] {
  const guard = new Guard(limits, inBytes, what, tap);
  if (kind === 'none') return [guard];
  if (kind === 'gzip') {
    // 1 MiB output chunks: the 16 KiB default costs ~2× the CPU in per-chunk overhead downstream, and fewer,
    // larger buffers leave less for the garbage collector
    const g = createGunzip({ chunkSize: 1024 * 1024 });
    g.on('error', () => undefined);
    return [g, guard];
  }
  return [new Zstd(limits, what), guard];
}
