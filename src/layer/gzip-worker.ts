// A gzip layer's diff_id computed off the main thread: a worker reads the verified file, inflates it and hashes the
// tar, under the same bomb caps as the Guard. On two cores the main thread is busy with the downloads (HTTP, their
// sha256, the writes), and a proof kept there — sha256 of the tar, zlib's callbacks, the stream machinery — would
// queue behind them; in a worker it runs beside them.
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { type Algorithm, algorithmOf, type Digest, hexOf } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { DEFAULT_LIMITS, type Limits, tooBig } from './decompress.js';

/**
 * Plain CommonJS run with `eval` (the CLI is one bundle, so there is no worker file to point at). One job at a
 * time, synchronously — the thread has nothing else to do: read the file into one reused 1 MiB buffer, inflate it
 * into another through the zlib handle's synchronous write (the engine behind `zlib.gunzipSync`, which streams
 * here because the handle keeps its state between writes), hash each output slice, and stop at the caps, checked
 * exactly as the Guard checks them against the compressed bytes read so far. No buffer is allocated per chunk:
 * the stream API's fresh 1 MiB output chunks cost a fifth of the CPU and, as garbage waiting for a collection,
 * tens of MiB of memory. Multi-member gzip, trailing bytes and truncation are decided by the same native code as
 * for `createGunzip` (its error handler is replaced so a failure is seen right after the write that hit it).
 * Where a Node version lacks those internals, the stream API does the same work.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createGunzip, constants } = require('node:zlib');
const { readSync } = require('node:fs');
const SIZE = 1024 * 1024;
const input = Buffer.allocUnsafe(SIZE);
const output = Buffer.allocUnsafe(SIZE);
function capped(out, inBytes, job) {
  if (out <= job.maxBytes && (out <= SIZE || out / Math.max(1, inBytes) <= job.maxRatio)) return undefined;
  const e = new Error('cap'); e.cap = true; e.out = out; e.inBytes = inBytes;
  return e;
}
function direct(job) {
  const g = createGunzip();
  const handle = g._handle;
  const state = g._writeState;
  if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array)) {
    g.close();
    return undefined;
  }
  let failed;
  handle.onerror = (errno, code, message) => {
    failed = Object.assign(new Error(message), { errno, code });
  };
  const h = createHash(job.algorithm);
  let pos = 0, out = 0;
  try {
    for (;;) {
      const n = readSync(job.fd, input, 0, SIZE, pos);
      pos += n;
      if (n > 0) parentPort.postMessage({ t: 'read', n });
      const flush = n === 0 ? constants.Z_FINISH : constants.Z_NO_FLUSH;
      let off = 0, avail = n;
      for (;;) {
        handle.writeSync(flush, input, off, avail, output, 0, SIZE);
        if (failed) throw failed;
        const availOut = state[0], availIn = state[1];
        const have = SIZE - availOut;
        if (have > 0) {
          out += have;
          h.update(output.subarray(0, have));
          const e = capped(out, pos, job);
          if (e) throw e;
        }
        off += avail - availIn;
        avail = availIn;
        // a full output buffer: more may be pending for the same input
        if (availOut !== 0) break;
      }
      if (n === 0) break;
    }
  } finally {
    g.close();
  }
  return { hex: h.digest('hex'), size: out };
}
function streamed(job) {
  return new Promise((resolve, reject) => {
    const h = createHash(job.algorithm);
    const g = createGunzip({ chunkSize: SIZE });
    let out = 0, pos = 0, cap;
    g.on('data', (c) => {
      out += c.length;
      h.update(c);
      cap = cap || capped(out, pos, job);
      if (cap) g.destroy(cap);
    });
    g.on('error', (e) => reject(cap || e));
    g.on('end', () => resolve({ hex: h.digest('hex'), size: out }));
    const next = () => {
      if (g.destroyed) return;
      let n;
      try {
        n = readSync(job.fd, input, 0, SIZE, pos);
      } catch (e) {
        g.destroy(e);
        return;
      }
      if (n === 0) return g.end();
      pos += n;
      parentPort.postMessage({ t: 'read', n });
      // zlib has consumed the buffer once the write callback runs: only then is it refilled
      g.write(input.subarray(0, n), (e) => e || next());
    };
    next();
  });
}
// the blob's own digest, proven before a single byte of it is inflated
function prove(job) {
  const h = createHash(job.expect.algorithm);
  let pos = 0;
  for (;;) {
    const n = readSync(job.fd, input, 0, SIZE, pos);
    if (n === 0) break;
    h.update(input.subarray(0, n));
    pos += n;
  }
  const hex = h.digest('hex');
  if (pos !== job.expect.size || hex !== job.expect.hex) {
    const e = new Error('the blob does not match its digest');
    e.mismatch = true; e.found = hex; e.foundSize = pos;
    throw e;
  }
  parentPort.postMessage({ t: 'proven' });
}
parentPort.on('message', async (job) => {
  try {
    if (job.expect) prove(job);
    if (!job.inflate) return parentPort.postMessage({ t: 'done', hex: '', size: 0 });
    const r = (job.engine !== 'stream' && direct(job)) || (await streamed(job));
    parentPort.postMessage({ t: 'done', hex: r.hex, size: r.size });
  } catch (e) {
    parentPort.postMessage({
      t: 'err', message: String((e && e.message) || e), code: e && e.code, cap: !!(e && e.cap),
      out: e && e.out, inBytes: e && e.inBytes, mismatch: !!(e && e.mismatch), found: e && e.found,
      foundSize: e && e.foundSize,
    });
  }
});
`;

type Reply =
  | { t: 'read'; n: number }
  | { t: 'proven' }
  | { t: 'done'; hex: string; size: number }
  | {
      t: 'err';
      message: string;
      code?: string;
      cap: boolean;
      out?: number;
      inBytes?: number;
      mismatch: boolean;
      found?: string;
      foundSize?: number;
    };

/**
 * A blob whose digest is not proven yet (a pull writes downloads to disk unhashed): the worker hashes the whole
 * file first and inflates nothing unless it matches. `onProven` runs once it did, before the inflate starts.
 */
export interface BlobCheck {
  digest: Digest;
  size: number;
  onProven?: () => void;
}

let decompressions = 0;
/**
 * Tests only: how many layer decompressions have begun in this process — here or on a worker; one whose blob had
 * to be proven first counts once the worker reported the proof — so a test can show a bad blob was never inflated.
 */
export function decompressionsStarted(): number {
  return decompressions;
}
/** Count a decompression on this thread (the stream path of readLayer). */
export function noteDecompression(): void {
  decompressions++;
}

/** The error for a blob whose bytes are not the ones its descriptor names: what a verifying stream reports. */
export function blobMismatch(
  want: { digest: Digest; size: number },
  what: string,
  found: string,
  foundSize: number,
): TrustpinError {
  if (foundSize !== want.size)
    return new TrustpinError('SIZE_MISMATCH', `${what}: the blob ${want.digest} has the wrong length`, {
      expected: `${want.size} bytes`,
      found: `${foundSize} bytes`,
      hint: 'the source served other content; nothing was stored',
    });
  return new TrustpinError('DIGEST_MISMATCH', `${what}: the blob's bytes do not match their digest`, {
    expected: want.digest,
    found,
    hint: 'the source served different bytes than were asked for; discard them',
  });
}

let engine: 'direct' | 'stream' = 'direct';
/** Tests only: make the workers use the stream API, the fallback for a Node without the zlib internals. */
export function setGzipWorkerEngine(e: 'direct' | 'stream'): void {
  engine = e;
}

/** Idle workers, kept (unref'd, so they never hold the process open) for the next layer. */
const idle: Worker[] = [];
/** At most this many idle workers are kept; more are ended when their job is done. */
const KEEP = 4;

function spawn(): Worker {
  const w = new Worker(WORKER, { eval: true });
  w.unref();
  return w;
}

/** Start `n` workers now, so the first proofs do not wait for a thread to boot (about 30 ms each). */
export function warmGzipWorkers(n: number): void {
  while (idle.length < Math.min(n, KEEP)) idle.push(spawn());
}

/** What a worker reports for a gzip file: the tar's digest (hex) and its size. */
export interface WorkerDigest {
  hex: string;
  size: number;
}

/**
 * The digest and size of the tar inside the gzip file open at `fh` (read with positional reads only, so the
 * handle may be shared), under `limits`. A zlib error is thrown as zlib's own error (the caller names the layer);
 * a cap as SIZE_EXCEEDED.
 */
export function gunzipDigest(
  fh: FileHandle,
  algorithm: Algorithm,
  what: string,
  limits: Limits = DEFAULT_LIMITS,
  onRead?: (n: number) => void,
  check?: BlobCheck,
): Promise<WorkerDigest> {
  return job(fh, what, { algorithm, limits, inflate: true, onRead, check });
}

/**
 * Prove the file open at `fh` is the blob `check` names (length and digest), on a worker thread: the download
 * hashed nothing, and this thread has the next downloads to move. A mismatch rejects with SIZE_MISMATCH or
 * DIGEST_MISMATCH, as a verifying stream would have.
 */
export async function proveBlobFile(fh: FileHandle, what: string, check: BlobCheck): Promise<void> {
  await job(fh, what, {
    algorithm: algorithmOf(check.digest),
    limits: DEFAULT_LIMITS,
    inflate: false,
    check,
  });
}

function job(
  fh: FileHandle,
  what: string,
  j: {
    algorithm: Algorithm;
    limits: Limits;
    inflate: boolean;
    onRead?: ((n: number) => void) | undefined;
    check?: BlobCheck | undefined;
  },
): Promise<WorkerDigest> {
  const { algorithm, limits, onRead, check } = j;
  const w = idle.pop() ?? spawn();
  w.ref();
  return new Promise<WorkerDigest>((resolve, reject) => {
    const done = (keep: boolean) => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      w.unref();
      if (keep && idle.length < KEEP) idle.push(w);
      else void w.terminate();
    };
    const onMessage = (m: Reply) => {
      if (m.t === 'read') return onRead?.(m.n);
      if (m.t === 'proven') {
        if (j.inflate) decompressions++;
        return check?.onProven?.();
      }
      done(true);
      if (m.t === 'err' && m.mismatch && check)
        return reject(blobMismatch(check, what, `${algorithmOf(check.digest)}:${m.found}`, m.foundSize ?? 0));
      if (m.t === 'done') return resolve({ hex: m.hex, size: m.size });
      if (m.cap) {
        const e = tooBig(limits, what, m.out ?? 0, m.inBytes ?? 0);
        if (e) return reject(e);
      }
      reject(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
    };
    const onError = (e: Error) => {
      done(false);
      // the thread itself failed, not the layer: no LAYER_INVALID for what the image did not do
      reject(new TrustpinError('INTERNAL', `${what}: the gzip worker failed: ${e.message}`, { cause: e }));
    };
    const onExit = () => {
      done(false);
      reject(new TrustpinError('INTERNAL', `${what}: the gzip worker stopped`));
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    if (!check && j.inflate) decompressions++;
    w.postMessage({
      fd: fh.fd,
      algorithm,
      maxBytes: limits.maxBytes,
      maxRatio: limits.maxRatio,
      engine,
      inflate: j.inflate,
      expect: check && { algorithm: algorithmOf(check.digest), hex: hexOf(check.digest), size: check.size },
    });
  });
}
