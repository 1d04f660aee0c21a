// Regular files are created and filled by one worker thread, so the main thread parses and hashes the next
// entries while the kernel creates files and copies pages (a create costs ~0.2 ms and page-cache writes run at
// ~650 MB/s on a small VM: most of an unpack). Bodies travel once through a fixed shared ring; nothing is
// reallocated per file. Paths were resolved in the virtual tree by the main thread, and the worker does exactly
// what the main thread does for every other entry (fsops): create the last component exclusively, never following a symlink, then owner,
// mode and mtime through the descriptor. The unpacker calls drain() before anything that removes, links or sets
// directory metadata, and at the end of every layer, so the file system always changes in the tar's order.
import { constants } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ioError, type Owner } from './fsops.js';

/** Ring size: enough for the worker to run ~20 ms behind the parser without stalling it. */
const RING = 16 * 1024 * 1024;
/** Ops per message: a postMessage costs microseconds; a file is two or three ops. */
const BATCH = 256;

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** op 0 = create `p`; 1 = write ring bytes [o, o + n); 2 = finish (owner, mode, mtime) and close. */
type Op =
  | { k: 0; p: string }
  | { k: 1; o: number; n: number }
  | { k: 2; m: number; s: number; u?: number; g?: number };

interface Ack {
  freed: number;
  closed: number;
  errors: { p: string; message: string; code?: string; syscall?: string }[];
}

// Plain JS, evaluated in the worker (CommonJS): the bundle and the tests both run it without a separate file.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const u8 = new Uint8Array(workerData.ring);
const CREATE = workerData.create;
let fd = -1, path = '', failed = null;
function clear(p) {
  let st;
  try { st = fs.lstatSync(p); } catch { return; }
  if (st.isDirectory()) fs.rmSync(p, { recursive: true, force: true }); else fs.unlinkSync(p);
}
function create(p) {
  try { return fs.openSync(p, CREATE, 0o600); } catch (e) { if (e.code !== 'EEXIST') throw e; }
  clear(p);
  return fs.openSync(p, CREATE, 0o600);
}
function shut() { if (fd >= 0) { try { fs.closeSync(fd); } catch {} fd = -1; } }
parentPort.on('message', (ops) => {
  const ack = { freed: 0, closed: 0, errors: [] };
  for (const op of ops) {
    if (op.k === 0) {
      path = op.p; failed = null;
      try { fd = create(op.p); } catch (e) { failed = e; fd = -1; }
    } else if (op.k === 1) {
      ack.freed += op.n;
      if (fd < 0) continue;
      try { for (let o = 0; o < op.n; ) o += fs.writeSync(fd, u8, op.o + o, op.n - o); }
      catch (e) { failed = e; shut(); }
    } else {
      if (fd >= 0) {
        try {
          if (op.u !== undefined) fs.fchownSync(fd, op.u, op.g);
          fs.fchmodSync(fd, op.m);
          fs.futimesSync(fd, op.s, op.s);
        } catch (e) { failed = e; }
        shut();
      }
      if (failed) ack.errors.push({ p: path, message: failed.message, code: failed.code, syscall: failed.syscall });
      ack.closed++;
      failed = null;
    }
  }
  parentPort.postMessage(ack);
});
`;

/**
 * One worker thread. Two lanes (round-robin or per directory) were measured slower on 2 cores: creates in one
 * directory serialise on its inode in the kernel, so a second thread only added lock contention.
 */
export class FileWriter {
  private readonly ring = new SharedArrayBuffer(RING);
  private readonly u8 = new Uint8Array(this.ring);
  private worker: Worker | undefined;
  private batch: Op[] = [];
  private flushScheduled = false;
  /** bytes put into the ring, and bytes the worker has written out of it (both only grow) */
  private head = 0;
  private freed = 0;
  private opened = 0;
  private closed = 0;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private shut = false;

  private start(): Worker {
    // a writer that was closed stays closed: a late op (from a sink that outlived its layer) must not start a
    // thread that writes into a removed rootfs and keeps the process alive
    if (this.shut) throw new Error('the file writer was closed');
    const w = new Worker(WORKER, { eval: true, workerData: { ring: this.ring, create: CREATE } });
    w.on('message', (a: Ack) => {
      this.freed += a.freed;
      this.closed += a.closed;
      const e = a.errors[0];
      if (e)
        this.fail(ioError(Object.assign(new Error(e.message), { code: e.code, syscall: e.syscall }), e.p));
      this.notify();
    });
    w.on('error', (e) => this.fail(e));
    w.on('exit', () => this.fail(new Error('the file writer thread stopped')));
    this.worker = w;
    return w;
  }

  private fail(e: Error): void {
    this.error ??= e;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private post(op: Op): void {
    this.batch.push(op);
    if (this.batch.length >= BATCH) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.shut) this.batch = [];
    if (this.batch.length === 0) return;
    (this.worker ?? this.start()).postMessage(this.batch);
    this.batch = [];
  }

  private async waitForAck(): Promise<void> {
    this.flush();
    if (!this.error)
      await new Promise<void>((r) => {
        this.wake = r;
      });
    if (this.error) throw this.error;
  }

  /** Queue a new regular file at `real` (its parents exist); resolves once its body is in the ring. */
  async write(
    real: string,
    body: AsyncIterable<Buffer>,
    mode: number,
    mtime: number,
    owner: Owner | undefined,
  ): Promise<void> {
    if (this.error) throw this.error;
    this.opened++;
    this.post({ k: 0, p: real });
    for await (const c of body) {
      for (let at = 0; at < c.length; ) {
        while (RING - (this.head - this.freed) === 0) await this.waitForAck();
        const pos = this.head % RING;
        const n = Math.min(RING - (this.head - this.freed), RING - pos, c.length - at);
        this.u8.set(c.subarray(at, at + n), pos);
        this.post({ k: 1, o: pos, n });
        this.head += n;
        at += n;
      }
    }
    const s = mtime / 1000;
    this.post(owner ? { k: 2, m: mode, s, u: owner.uid, g: owner.gid } : { k: 2, m: mode, s });
  }

  /** Wait until every queued file is written and closed; throws the first write error. */
  async drain(): Promise<void> {
    while (this.closed < this.opened) await this.waitForAck();
    if (this.error) throw this.error;
  }

  /** Stop the thread (after drain(), or to abandon a failed unpack: nothing is written after this resolves). */
  async close(): Promise<void> {
    this.shut = true;
    this.fail(new Error('the file writer was closed'));
    const w = this.worker;
    this.worker = undefined;
    this.batch = [];
    if (w) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}
