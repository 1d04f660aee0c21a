// Layer decompression, applied only to bytes whose digest has already been proven: gzip (node:zlib) or zstd
// (fzstd, pure JS, since Node 20's zlib has none), sniffed by magic bytes, with a cap on the output size and ratio.
import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
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

/** zstd refuses windows over 128 MiB unless told otherwise (`--memory`, ZSTD_WINDOWLOG_LIMIT_DEFAULT); so does trustpin. */
export const MAX_ZSTD_WINDOW = 128 * 1024 * 1024;

/** Caps on one decompressed layer: total bytes and the compression ratio (a bomb fails cleanly). */
export interface Limits {
  /** largest total output, bytes */
  maxBytes: number;
  /** largest output/input ratio once past 1 MiB of output */
  maxRatio: number;
  /** largest window (memory the decoder allocates up front) a zstd frame may declare; default MAX_ZSTD_WINDOW */
  maxZstdWindow?: number;
  /** longest a zstd slice may decode without output before the layer is refused; default ZSTD_STALL_MS */
  zstdStallMs?: number;
}

/** The default layer caps: 64 GiB, a 1000:1 ratio past the first MiB, zstd windows up to MAX_ZSTD_WINDOW. */
export const DEFAULT_LIMITS: Limits = {
  maxBytes: 64 * 1024 ** 3,
  maxRatio: 1000,
  maxZstdWindow: MAX_ZSTD_WINDOW,
};

/** SIZE_EXCEEDED when `out` bytes from `inBytes` break the caps, else undefined. */
export function tooBig(
  limits: Limits,
  what: string,
  out: number,
  inBytes: number,
): TrustpinError | undefined {
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

/** fzstd decodes a whole input chunk synchronously; small slices keep backpressure (and memory) bounded. */
const ZSTD_SLICE = 64 * 1024;
const ZSTD_MAGIC = 0xfd2fb528;
/** 0x184D2A50…0x184D2A5F: a skippable frame (a 4-byte length, then that many bytes nobody decodes) */
const isSkippable = (magic: number) => magic >>> 4 === 0x184d2a5;

/** The window (or, for a single-segment frame, the content size) that fzstd would allocate for a frame. */
function zstdWindow(h: Buffer): number | undefined {
  if (h.length < 6 || h.readUInt32LE(0) !== ZSTD_MAGIC) return undefined;
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

/** A frame header's length from its descriptor byte: magic, descriptor, window byte, dictionary ID, content size. */
function frameHeaderLength(fhd: number): number {
  const single = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const did = [0, 1, 2, 4][fhd & 3]!;
  const fcs = fcsFlag ? 2 ** fcsFlag : single;
  return 5 + (single ? 0 : 1) + did + fcs;
}

/**
 * Follows zstd's framing (RFC 8878 §3.1: frames one after another, each a header, blocks with 3-byte headers and
 * an optional checksum; skippable frames) over the compressed bytes *before* the decoder sees them, so every
 * frame's header — not only the first — has its window checked before fzstd allocates it. It walks headers and
 * skips bodies, the way fzstd frames the stream; a byte sequence fzstd would not accept as a frame stops the
 * scan (the decoder then fails on it).
 */
export class ZstdFrames {
  /** bytes collected for the header being read (at most 18) */
  private pending: Buffer = Buffer.alloc(0);
  private want = 4;
  private state: 'magic' | 'frame' | 'skippable' | 'block' | 'skip' | 'stopped' = 'magic';
  private skip = 0;
  /** after the skipped bytes: another block, or (for the last block) the checksum and then a new frame */
  private after: 'block' | 'magic' = 'magic';
  private checksum = false;
  /** frames seen, for tests and messages */
  frames = 0;

  constructor(
    private readonly maxWindow: number,
    private readonly what: string,
  ) {}

  scan(c: Buffer): void {
    let i = 0;
    while (i < c.length && this.state !== 'stopped') {
      if (this.state === 'skip') {
        const n = Math.min(this.skip, c.length - i);
        this.skip -= n;
        i += n;
        if (this.skip === 0) this.state = this.after;
        continue;
      }
      const n = Math.min(this.want - this.pending.length, c.length - i);
      this.pending = Buffer.concat([this.pending, c.subarray(i, i + n)]);
      i += n;
      if (this.pending.length < this.want) return;
      this.step();
    }
  }

  private skipThen(n: number, after: 'block' | 'magic'): void {
    this.pending = Buffer.alloc(0);
    this.after = after;
    this.skip = n;
    this.state = n > 0 ? 'skip' : after;
    this.want = after === 'block' ? 3 : 4;
  }

  private step(): void {
    const p = this.pending;
    switch (this.state) {
      case 'magic': {
        const magic = p.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) {
          this.state = 'frame';
          this.want = 5;
        } else if (isSkippable(magic)) {
          this.state = 'skippable';
          this.want = 8;
        } else this.state = 'stopped';
        return;
      }
      case 'skippable':
        this.skipThen(p.readUInt32LE(4), 'magic');
        return;
      case 'frame': {
        const len = frameHeaderLength(p[4]!);
        if (p.length < len) {
          this.want = len;
          return;
        }
        this.frames++;
        const w = zstdWindow(p);
        if (w !== undefined && w > this.maxWindow)
          throw new TrustpinError(
            'SIZE_EXCEEDED',
            `${this.what}: zstd frame ${this.frames} needs a ${w}-byte window`,
            {
              expected: `a window of at most ${this.maxWindow} bytes (option limits.maxZstdWindow)`,
              found: `${w} bytes`,
              hint: 'the decoder would allocate that much memory up front; a hostile or very unusual layer',
            },
          );
        this.checksum = ((p[4]! >> 2) & 1) === 1;
        this.pending = Buffer.alloc(0);
        this.state = 'block';
        this.want = 3;
        return;
      }
      case 'block': {
        const h = p[0]! | (p[1]! << 8) | (p[2]! << 16);
        const last = (h & 1) === 1;
        const type = (h >> 1) & 3;
        const size = h >>> 3;
        if (type === 3) {
          this.state = 'stopped';
          return;
        }
        const body = type === 1 ? 1 : size;
        if (!last) this.skipThen(body, 'block');
        else this.skipThen(body + (this.checksum ? 4 : 0), 'magic');
        return;
      }
    }
  }
}

/**
 * fzstd is pure JS and decodes synchronously: a corrupt stream that sends it into an endless loop (a Huffman
 * table whose FSE-coded weights take no bits, which zstd itself refuses) would hang the whole process with no way
 * to interrupt it. So it runs in a worker thread: one input slice at a time, its output posted back block by block,
 * and a slice that makes no progress for `zstdStallMs` ends the worker and the layer (LAYER_INVALID). The caps are
 * checked in the worker too, inside the decoder's callback, so one slice cannot expand past them.
 */
const ZSTD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Decompress } = require(workerData.fzstd);
const { maxBytes, maxRatio } = workerData;
let out = 0, consumed = 0;
const d = new Decompress((chunk) => {
  out += chunk.length;
  if (out > maxBytes || (out > 1048576 && out / Math.max(1, consumed) > maxRatio)) {
    const e = new Error('cap'); e.cap = true; e.out = out; e.consumed = consumed; throw e;
  }
  const b = chunk.slice();
  parentPort.postMessage({ t: 'data', b }, [b.buffer]);
});
parentPort.on('message', (m) => {
  try {
    if (m.t === 'push') { consumed += m.b.length; d.push(m.b); }
    else d.push(new Uint8Array(0), true);
    parentPort.postMessage({ t: 'ok' });
  } catch (e) {
    parentPort.postMessage({ t: 'err', message: String(e && e.message), cap: !!(e && e.cap), out: e && e.out, consumed: e && e.consumed });
  }
});
`;

/** How long a zstd slice may decode without producing output before the layer is refused (default 2 s). */
export const ZSTD_STALL_MS = 2000;

type ZstdReply =
  | { t: 'data'; b: Uint8Array }
  | { t: 'ok' }
  | { t: 'err'; message: string; cap: boolean; out?: number; consumed?: number };

let fzstdPath: string | undefined;

class Zstd extends Transform {
  private readonly frames: ZstdFrames;
  private worker: Worker | undefined;
  private waiting: ((r: ZstdReply | { t: 'stall' } | { t: 'exit' }) => void) | undefined;
  constructor(
    private readonly limits: Limits,
    private readonly what: string,
  ) {
    super();
    this.frames = new ZstdFrames(limits.maxZstdWindow ?? MAX_ZSTD_WINDOW, what);
  }

  private start(): Worker {
    fzstdPath ??= createRequire(import.meta.url).resolve('fzstd');
    const w = new Worker(ZSTD_WORKER, {
      eval: true,
      workerData: { fzstd: fzstdPath, maxBytes: this.limits.maxBytes, maxRatio: this.limits.maxRatio },
    });
    w.on('message', (m: ZstdReply) => {
      if (this.destroyed) return;
      if (m.t === 'data') this.push(Buffer.from(m.b.buffer, m.b.byteOffset, m.b.byteLength));
      this.waiting?.(m);
    });
    w.on('error', (e) => this.waiting?.({ t: 'err', message: e.message, cap: false }));
    w.on('exit', () => this.waiting?.({ t: 'exit' }));
    this.worker = w;
    return w;
  }

  /** Send one message and wait for the slice to finish, restarting the stall timer on every output block. */
  private run(msg: { t: 'push'; b: Uint8Array } | { t: 'end' }): Promise<void> {
    const w = this.worker ?? this.start();
    const stallMs = this.limits.zstdStallMs ?? ZSTD_STALL_MS;
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => this.waiting?.({ t: 'stall' }), stallMs);
        // the worker keeps the process alive while it decodes; the timer alone must not
        timer.unref();
      };
      this.waiting = (r) => {
        if (r.t === 'data') return arm();
        clearTimeout(timer);
        this.waiting = undefined;
        if (r.t === 'ok') return resolve();
        if (r.t === 'stall') {
          void this.stop();
          return reject(
            new TrustpinError(
              'LAYER_INVALID',
              `${this.what}: the zstd decoder made no progress for ${stallMs} ms`,
              {
                expected: 'a zstd stream that decodes',
                found: 'a block the decoder loops on (a malformed Huffman or FSE table)',
                hint: 'its digest matched, so this is what the publisher pushed; the layer is corrupt or hostile',
              },
            ),
          );
        }
        if (r.t === 'exit') return reject(new Error('the zstd decoder thread stopped'));
        if (r.cap) {
          const e = tooBig(this.limits, this.what, r.out ?? 0, r.consumed ?? 0);
          if (e) return reject(e);
        }
        reject(new Error(r.message));
      };
      arm();
      if (msg.t === 'push') {
        // a copy the worker owns (Buffer#slice would be a view, and transferring it would detach the caller's memory)
        const copy = new Uint8Array(msg.b);
        w.postMessage({ t: 'push', b: copy }, [copy.buffer]);
      } else w.postMessage(msg);
    });
  }

  private async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    w.removeAllListeners('exit');
    await w.terminate();
  }

  override _transform(c: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    (async () => {
      for (let i = 0; i < c.length; i += ZSTD_SLICE) {
        const s = c.subarray(i, i + ZSTD_SLICE);
        // every frame header in the slice is checked before the decoder reads (and allocates for) it
        this.frames.scan(s);
        await this.run({ t: 'push', b: s });
      }
    })().then(
      () => this.destroyed || cb(),
      (e) => this.destroyed || cb(asZstdError(e)),
    );
  }

  override _flush(cb: TransformCallback): void {
    this.run({ t: 'end' })
      .then(() => this.stop())
      .then(
        () => cb(),
        (e) => cb(asZstdError(e)),
      );
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // a slice still decoding is abandoned: its wait ends now, and nothing is pushed after this
    this.waiting?.({ t: 'exit' });
    this.stop().then(
      () => cb(err),
      () => cb(err),
    );
  }
}

function asZstdError(e: unknown): TrustpinError {
  if (e instanceof TrustpinError) return e;
  // the same code as a corrupt gzip layer: its digest matched, so this is what the publisher pushed
  return new TrustpinError('LAYER_INVALID', `zstd stream is corrupt: ${(e as Error).message}`, {
    expected: 'a complete zstd stream',
    found: (e as Error).message,
    hint: 'its digest matched, so this is what the publisher pushed; the layer is truncated or corrupt',
    cause: e,
  });
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
