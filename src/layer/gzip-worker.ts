// A gzip layer's diff_id computed off the main thread: a worker reads the verified file, inflates it and hashes the
// tar, under the same bomb caps as the Guard. On two cores the main thread is busy with the downloads (HTTP, their
// sha256, the writes), and a proof kept there — sha256 of the tar, zlib's callbacks, the stream machinery — would
// queue behind them; in a worker it runs beside them.
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { Algorithm } from '../digest/index.js';
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
parentPort.on('message', async (job) => {
  try {
    const r = (job.engine !== 'stream' && direct(job)) || (await streamed(job));
    parentPort.postMessage({ t: 'done', hex: r.hex, size: r.size });
  } catch (e) {
    parentPort.postMessage({
      t: 'err', message: String((e && e.message) || e), code: e && e.code, cap: !!(e && e.cap),
      out: e && e.out, inBytes: e && e.inBytes,
    });
  }
});
`;

type Reply =
  | { t: 'read'; n: number }
  | { t: 'done'; hex: string; size: number }
  | { t: 'err'; message: string; code?: string; cap: boolean; out?: number; inBytes?: number };

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
): Promise<WorkerDigest> {
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
      done(true);
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
    w.postMessage({ fd: fh.fd, algorithm, maxBytes: limits.maxBytes, maxRatio: limits.maxRatio, engine });
  });
}
