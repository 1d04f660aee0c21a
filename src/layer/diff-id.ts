// diff_id of a layer: the digest of its uncompressed tar, computed from a verified blob. Equal diff_ids mean the
// same file-system changes even when the compressed blobs (and so the layer digests) differ.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Algorithm, Digest } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import type { Descriptor } from '../manifest/index.js';
import type { ImageSource } from '../source/index.js';
import { compressionOf, decompressor, type Limits } from './decompress.js';
import { type BlobCheck, gunzipDigest, noteDecompression, proveBlobFile } from './gzip-worker.js';

export { decompressionsStarted, proveBlobFile, warmGzipWorkers } from './gzip-worker.js';

import { asLayerError } from './tar.js';
import { fetchVerifiedFile, type VerifiedFile } from './verified-file.js';

/** Compressed reads: large enough to amortise a thread-pool round trip, reused so no page is faulted twice. */
const READ_SIZE = 1024 * 1024;

/**
 * Feed a file to a decompressor through two reused buffers: one is read while the other is inflated. A buffer is
 * refilled only after the decompressor's write callback, i.e. once it has consumed every byte of it. Fresh
 * buffers per chunk (what a ReadStream does) cost about as much in page faults as the inflate itself.
 */
async function feed(fh: FileHandle, into: Writable, count: (n: number) => void): Promise<void> {
  const bufs = [Buffer.allocUnsafe(READ_SIZE), Buffer.allocUnsafe(READ_SIZE)];
  // zlib never calls the write callback of the chunk it failed on (bad CRC, corrupt deflate, trailing garbage):
  // a write also ends when the decompressor errors or closes, or the feed would wait forever
  const stopped = new Promise<never>((_, rej) => {
    const fail = () => rej(into.errored ?? new Error('the decompressor stopped'));
    into.once('error', fail);
    into.once('close', fail);
  });
  stopped.catch(() => undefined);
  let pos = 0;
  let pending: Promise<void> = Promise.resolve();
  for (let k = 0; ; k++) {
    const b = bufs[k & 1]!;
    const { bytesRead } = await fh.read(b, 0, b.length, pos);
    await pending;
    if (bytesRead === 0) break;
    pos += bytesRead;
    count(bytesRead);
    if (into.destroyed) throw into.errored ?? new Error('the decompressor stopped');
    pending = Promise.race([
      new Promise<void>((res, rej) => into.write(b.subarray(0, bytesRead), (e) => (e ? rej(e) : res()))),
      stopped,
    ]);
    // awaited on the next turn; until then a failure (the pipeline stopped on a bomb) is not unhandled
    pending.catch(() => undefined);
  }
  into.end();
}

/**
 * Whether a gzip layer read without a sink is proven on a worker thread (the default). Tests turn it off to
 * check that both paths give the same answers.
 */
let gzipInWorker = true;
export function setGzipInWorker(on: boolean): void {
  gzipInWorker = on;
}

/** The digest of a layer's uncompressed tar (its diff_id) and the tar's size. */
export interface LayerDigest {
  diffId: Digest;
  /** bytes of the uncompressed tar */
  size: number;
}

/**
 * Decompress a verified layer file once: every decompressed byte is hashed into its diff_id (inside the bomb
 * guard, so no extra stream stage or listener) and handed to `sink`, which parses it or, when absent, is a drain.
 * This is the only place trustpin turns a layer into a diff_id; pull, unpack, diff and compare all call it.
 */
export function readLayer(
  f: VerifiedFile,
  sink?: ((s: AsyncIterable<Buffer>) => Promise<void>) | undefined,
  limits?: Limits,
  algorithm: Algorithm = 'sha256',
): Promise<LayerDigest> {
  return read(f, sink, limits, algorithm, undefined);
}

/**
 * {@link readLayer} for a layer file whose blob digest nobody has proven yet (a pull's download, written to disk
 * unhashed): the file's length and digest are proven first, on a worker thread, and not one byte of it is
 * decompressed unless they match the descriptor — a mismatch is SIZE_MISMATCH or DIGEST_MISMATCH. For a gzip
 * layer with no sink the same worker then inflates it (one job); `onProven` runs once the digest matched, before
 * any decompression starts.
 */
export function proveAndReadLayer(
  f: Omit<VerifiedFile, 'dispose'>,
  onProven: () => void,
  sink?: ((s: AsyncIterable<Buffer>) => Promise<void>) | undefined,
  limits?: Limits,
  algorithm: Algorithm = 'sha256',
): Promise<LayerDigest> {
  return read(f, sink, limits, algorithm, { digest: f.descriptor.digest, size: f.descriptor.size, onProven });
}

async function read(
  f: Omit<VerifiedFile, 'dispose'>,
  sink: ((s: AsyncIterable<Buffer>) => Promise<void>) | undefined,
  limits: Limits | undefined,
  algorithm: Algorithm,
  check: BlobCheck | undefined,
): Promise<LayerDigest> {
  const { fh, release } = await f.handle();
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    let inBytes = 0;
    const count = (n: number) => {
      inBytes += n;
      f.onRead?.(n);
    };
    const h = createHash(algorithm);
    let size = 0;
    const tap = (c: Buffer) => {
      h.update(c);
      size += c.length;
    };
    const kind = compressionOf(f.descriptor.mediaType, head);
    if (kind === 'gzip' && sink === undefined && gzipInWorker) {
      // nothing parses the tar: the whole proof (read, inflate, hash) runs on a worker thread
      const r = await gunzipDigest(
        fh,
        algorithm,
        `layer ${f.descriptor.digest}`,
        limits,
        f.onRead,
        check,
      ).catch((e: unknown) => {
        throw asLayerError(e, f.descriptor.digest);
      });
      return { diffId: `${algorithm}:${r.hex}` as Digest, size: r.size };
    }
    // nothing is decompressed before the blob is proven: here, on a worker, when no one has yet
    if (check) await proveBlobFile(fh, `layer ${f.descriptor.digest}`, check);
    noteDecompression();
    const stages = decompressor(kind, () => inBytes, `layer ${f.descriptor.digest}`, limits, tap);
    const guard = stages[stages.length - 1]!;
    // pipeline() rejects as soon as a stage fails, while an async sink may still be running (parsing, queueing
    // files for the writer thread): it must have stopped before the caller cleans up, or it writes into a rootfs
    // that was just removed, or starts a thread that keeps the process alive
    let sinkDone: Promise<void> = Promise.resolve();
    const consume = (s: AsyncIterable<Buffer>) => {
      sinkDone = (sink ?? drain)(s);
      return sinkDone;
    };
    const settled = () => sinkDone.then(noop, noop);
    // biome-ignore lint/suspicious/noExplicitAny: pipeline's overloads cannot type a spread of stages
    const run = pipeline as (...s: any[]) => Promise<void>;
    if (kind === 'gzip') {
      // zlib copies nothing it has consumed, so its input buffers can be reused (zstd and plain tar hand their
      // input on to the parser, so they read through a stream of fresh buffers)
      const inflate = stages[0]!;
      const out = run(...stages, consume);
      const fed = feed(fh, inflate, count).catch((e) => {
        inflate.destroy(e);
        throw e;
      });
      const [a, b] = await Promise.allSettled([fed, out]);
      await settled();
      if (b.status === 'rejected') throw asLayerError(b.reason, f.descriptor.digest);
      if (a.status === 'rejected') throw asLayerError(a.reason, f.descriptor.digest);
    } else {
      const input = fh.createReadStream({ start: 0, autoClose: false, highWaterMark: READ_SIZE });
      input.on('data', (c) => count(c.length));
      await run(input, ...stages, consume).catch(async (e: unknown) => {
        await settled();
        throw asLayerError(e, f.descriptor.digest);
      });
    }
    // a diff_id over part of the tar would be a wrong answer, not a slow one
    if (!guard.writableFinished)
      throw new TrustpinError('INTERNAL', `layer ${f.descriptor.digest}: the reader stopped before the end`);
    return { diffId: `${algorithm}:${h.digest('hex')}` as Digest, size };
  } finally {
    await release();
  }
}

function noop(): void {}

async function drain(s: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of s);
}

/** Fetch a layer blob into a verified temp file and compute its diff_id; the file is removed afterwards. */
export async function diffIdOf(src: ImageSource, d: Descriptor, limits?: Limits): Promise<LayerDigest> {
  const f = await fetchVerifiedFile(src, d);
  try {
    return await readLayer(f, undefined, limits);
  } finally {
    await f.dispose();
  }
}
