// Parse one verified layer file (decompress, diff_id, tar walk, a sha256 per file body), on this thread or on one
// of a few worker threads. Hashing and parsing are the main thread's work otherwise: with both images' layers on
// one thread, a second core only ever inflated. A worker gets either the path of a file the main thread proved,
// or (a registry's download, written unhashed) the path of an unproven file, which it proves — length and
// digest — before it decompresses or parses a single byte of it.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Digest } from '../digest/index.js';
import { type ErrorCode, TrustpinError } from '../errors/index.js';
import {
  asLayerError,
  DEFAULT_TAR_LIMITS,
  type LayerEntry,
  type Limits,
  proveBlobFile,
  readLayer,
  type TarLimits,
  type VerifiedFile,
  verifiedFileAt,
  walkTar,
} from '../layer/index.js';
import type { Descriptor } from '../manifest/index.js';
import { proveFileSync } from './prove-file.js';
import type { UnprovenFile } from './unproven.js';

/** What a layer's tar looked like, beyond the tree it leaves: for strict mode's layer and order checks. */
export interface LayerFingerprint {
  /** the blob digest (compressed) */
  digest: Digest;
  /** sha256 of the decompressed tar, computed here */
  diffId: Digest;
  entries: number;
  /** sha256 over the entry names in tar order (whiteouts included) */
  order: string;
  /** sha256 over the sorted entry names: equal `names` with other `order` means only the order changed */
  names: string;
}

/** One layer's entries in tar order, each file with the sha256 of its body, and the layer's fingerprint. */
export interface ParsedLayer {
  fingerprint: LayerFingerprint;
  entries: { entry: LayerEntry; sha256?: string }[];
}

/** The caps a parse runs under: plain data, so that a worker gets the same ones. */
export interface ParseLimits {
  limits?: Limits | undefined;
  tarLimits?: TarLimits | undefined;
}

/**
 * Hash a file body chunk by chunk as the parser hands it on: 'data' events, no async iterator round per chunk. A
 * body cut short is the layer's fault (LAYER_INVALID), as walkTar's own iterator would say.
 */
function hashBody(body: Readable, layer: string): Promise<string> {
  const h = createHash('sha256');
  return new Promise((resolve, reject) => {
    body.on('data', (c: Buffer) => h.update(c));
    body.once('end', () => resolve(h.digest('hex')));
    body.once('error', (e) => reject(asLayerError(e, layer)));
  });
}

let parses = 0;
/**
 * Tests only: layer parses begun in this process after their blob was proven — on this thread, or on a parser
 * thread (which reports each one before it starts) — so a test can show an unproven blob was never read.
 */
export function layerParsesStarted(): number {
  return parses;
}

/**
 * {@link parseLayerFile} for a file nobody has proven: its length and digest are proven first (on a gzip worker),
 * and nothing is decompressed unless they match. The reader's fallback when a parser thread died under an unproven
 * layer.
 */
export async function proveAndParseLayerFile(
  file: UnprovenFile,
  opts: ParseLimits = {},
): Promise<ParsedLayer> {
  // the layer's own proof, on a gzip worker: the hash does not cost this thread, nothing is inflated first
  const d = file.descriptor;
  const fh = await open(file.path, 'r');
  try {
    await proveBlobFile(fh, `layer ${d.digest}`, { digest: d.digest, size: d.size });
  } finally {
    await fh.close();
  }
  return parseLayerFile(verifiedFileAt(file.path, d), opts);
}

/** Decompress, hash and parse a verified layer file in one pass; the caller owns (and removes) the file. */
export async function parseLayerFile(file: VerifiedFile, opts: ParseLimits = {}): Promise<ParsedLayer> {
  parses++;
  const d = file.descriptor;
  const entries: ParsedLayer['entries'] = [];
  const order = createHash('sha256');
  const names: string[] = [];
  // readLayer hashes every decompressed byte (padding and end blocks included) into the diff_id
  const { diffId } = await readLayer(
    file,
    async (decompressed) => {
      const tar = decompressed as Readable;
      for await (const { entry, body } of walkTar(tar, d.digest, opts.tarLimits ?? DEFAULT_TAR_LIMITS)) {
        const name = entry.whiteout ? `${entry.path}\0wh` : entry.path;
        order.update(`${name}\n`);
        names.push(name);
        if (entry.type !== 'file') {
          entries.push({ entry });
          continue;
        }
        entries.push({ entry, sha256: await hashBody(body, d.digest) });
      }
      // the parser may stop at the end-of-archive blocks; the diff_id needs the stream to its end
      await finished(tar);
    },
    opts.limits,
  );
  names.sort();
  return {
    fingerprint: {
      digest: d.digest,
      diffId,
      entries: names.length,
      order: order.digest('hex'),
      names: createHash('sha256').update(names.join('\n')).digest('hex'),
    },
    entries,
  };
}

/** workerData of a parser thread: the mark that makes this module serve jobs when loaded as a worker. */
const MARK = 'trustpinLayerParser';
/** set once the module serves: a thread that loaded something else fails at once instead of never answering */
const SERVING = Symbol.for('trustpin.layerParser.serving');

interface Job {
  id: number;
  path: string;
  descriptor: Descriptor;
  opts: ParseLimits;
  /** the file is not proven yet: prove its length and digest before reading a byte of its content */
  prove: boolean;
}

interface WireError {
  trustpin: boolean;
  code?: string | undefined;
  message: string;
  expected?: string | undefined;
  found?: string | undefined;
  hint?: string | undefined;
}

type Reply =
  | { id: number; layer: ParsedLayer }
  | { id: number; error: WireError }
  /** the blob is proven (or was), the parse begins: for {@link layerParsesStarted} */
  | { id: number; parsing: true };

function toWire(e: unknown): WireError {
  if (e instanceof TrustpinError)
    return {
      trustpin: true,
      code: e.code,
      message: e.message,
      expected: e.expected,
      found: e.found,
      hint: e.hint,
    };
  const err = e as NodeJS.ErrnoException;
  return { trustpin: false, code: err?.code, message: String(err?.message ?? e) };
}

/** A worker's error as the caller would have seen it on its own thread: a coded TrustpinError stays one. */
function fromWire(w: WireError): Error {
  if (w.trustpin)
    return new TrustpinError(w.code as ErrorCode, w.message, {
      expected: w.expected,
      found: w.found,
      hint: w.hint,
    });
  return Object.assign(new Error(w.message), w.code === undefined ? {} : { code: w.code });
}

// loaded as a parser thread: parse each proven file the main thread names, one at a time
if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[MARK] === true) {
  const port = parentPort;
  (globalThis as Record<symbol, unknown>)[SERVING] = true;
  port.on('message', (job: Job) => {
    // the main thread fetched this file (and proved it, unless `prove`); it removes it once this reply is in
    const parse = async () => {
      // nothing reads the content of a blob whose digest is not proven: a mismatch is the reply
      if (job.prove) proveFileSync(job.path, job.descriptor);
      port.postMessage({ id: job.id, parsing: true } satisfies Reply);
      return parseLayerFile(verifiedFileAt(job.path, job.descriptor), job.opts);
    };
    parse().then(
      (layer) => port.postMessage({ id: job.id, layer } satisfies Reply),
      (e: unknown) => port.postMessage({ id: job.id, error: toWire(e) } satisfies Reply),
    );
  });
}

/** Parser threads worth starting on this machine: one per core beyond none, at most `concurrency`. */
export function defaultParserThreads(concurrency: number): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, concurrency);
}

/**
 * Smaller blobs are parsed on the calling thread: starting a thread and sending it the job costs more than the
 * parse (a thread pays for itself on layers of tens of MiB, where it halves the time on 2 cores).
 */
export const PARSER_THREAD_MIN_BYTES = 4 * 1024 * 1024;

/** An idle thread is stopped after this long; the next big layer starts one again. */
const IDLE_MS = 5_000;

const pools = new Map<number, ParserPool>();

/** The process's pool of `size` threads: one start-up per thread however many diffs run, not one per diff. */
export function sharedParserPool(size: number): ParserPool {
  let p = pools.get(size);
  if (!p) {
    p = new ParserPool(size);
    pools.set(size, p);
  }
  return p;
}

/**
 * A thread loads this very module (in the CLI's bundle, the chunk that holds it), which then serves jobs. Run from
 * the TypeScript sources (tests), the thread first registers tsx: Node 20 gives a worker none of its parent's
 * loader hooks.
 */
const BOOT = `const { workerData: d } = require('node:worker_threads');
(async () => {
  if (d.tsx) (await import(d.tsx)).register();
  await import(d.url);
  if (!globalThis[Symbol.for('trustpin.layerParser.serving')]) throw new Error('the layer parser did not start');
})();`;

const tsxHooks = (): string | undefined =>
  import.meta.url.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;

const LOST = Symbol('parser thread lost');

/** The thread died under the job (it did not answer it): the layer itself was never judged, the caller may retry. */
export function parserLost(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[LOST] === true;
}

interface Slot {
  worker: Worker;
  /** it answered a job: it loaded and serves */
  answered?: boolean;
  job?: { id: number; resolve: (l: ParsedLayer) => void; reject: (e: unknown) => void } | undefined;
  idle?: NodeJS.Timeout | undefined;
}

/**
 * A few parser threads, each parsing one layer at a time (its inflate runs on the thread pool meanwhile). Started
 * lazily, unreferenced while idle (an idle pool never keeps the process alive), replaced when one dies.
 */
export class ParserPool {
  private readonly slots: Slot[] = [];
  private readonly queue: {
    job: Omit<Job, 'id'>;
    resolve: (l: ParsedLayer) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private next = 0;
  private closed = false;
  /** a thread died before it ever answered: threads cannot start here, every parse is handed back at once */
  private broken = false;

  /** `module` is what a thread loads: this module (tests give another, to see a pool whose threads cannot start) */
  constructor(
    private readonly size: number,
    private readonly module: string = import.meta.url,
  ) {
    if (!(size >= 1)) throw new RangeError(`a parser pool needs at least one thread, got ${size}`);
  }

  /** Parse a verified file on a parser thread; the caller keeps owning the file and removes it afterwards. */
  parse(file: VerifiedFile, opts: ParseLimits): Promise<ParsedLayer> {
    return this.enqueue(file, opts, false);
  }

  /**
   * Prove an unproven file (length and digest) on a parser thread, then parse it there: a mismatch rejects with
   * SIZE_MISMATCH or DIGEST_MISMATCH and nothing of the file was decompressed. The caller removes the file.
   */
  proveAndParse(file: UnprovenFile, opts: ParseLimits): Promise<ParsedLayer> {
    return this.enqueue(file, opts, true);
  }

  private enqueue(
    file: { path: string; descriptor: Descriptor },
    opts: ParseLimits,
    prove: boolean,
  ): Promise<ParsedLayer> {
    if (this.closed) return Promise.reject(new Error('the layer parser pool was closed'));
    if (this.broken)
      return Promise.reject(Object.assign(new Error('layer parser threads cannot start'), { [LOST]: true }));
    return new Promise((resolve, reject) => {
      this.queue.push({
        job: {
          path: file.path,
          descriptor: file.descriptor,
          opts: { limits: opts.limits, tarLimits: opts.tarLimits },
          prove,
        },
        resolve,
        reject,
      });
      this.pump();
    });
  }

  /**
   * Start every thread now, before there is a job for it: a thread takes ~0.1 s to load, which the first download
   * hides. Idle threads stop after a while, as ever.
   */
  warm(): void {
    if (this.closed || this.broken) return;
    while (this.slots.length < this.size) this.idle(this.start());
  }

  private idle(slot: Slot): void {
    clearTimeout(slot.idle);
    slot.idle = setTimeout(() => {
      if (!slot.job) this.retire(slot);
    }, IDLE_MS);
    slot.idle.unref();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot && this.slots.length < this.size) slot = this.start();
      if (!slot) return;
      const q = this.queue.shift()!;
      const id = this.next++;
      slot.job = { id, resolve: q.resolve, reject: q.reject };
      clearTimeout(slot.idle);
      // a thread at work keeps the process alive: the caller is only awaiting a promise
      slot.worker.ref();
      slot.worker.postMessage({ id, ...q.job } satisfies Job);
    }
  }

  private start(): Slot {
    const worker = new Worker(BOOT, {
      eval: true,
      workerData: { [MARK]: true, url: this.module, tsx: tsxHooks() },
    });
    const slot: Slot = { worker };
    worker.unref();
    worker.on('message', (r: Reply) => {
      const job = slot.job;
      if (!job || job.id !== r.id) return;
      if ('parsing' in r) {
        parses++;
        return;
      }
      slot.job = undefined;
      slot.answered = true;
      worker.unref();
      if ('layer' in r) job.resolve(r.layer);
      else job.reject(fromWire(r.error));
      this.pump();
      if (!slot.job) this.idle(slot);
    });
    // a thread that fails outside a job (it could not load, ran out of memory) takes its job with it; the next
    // job starts a new one
    const lost = (e: unknown) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      const job = slot.job;
      slot.job = undefined;
      clearTimeout(slot.idle);
      const err = e instanceof Error ? e : new Error('a layer parser thread stopped');
      job?.reject(Object.assign(err, { [LOST]: true }));
      if (!slot.answered && !this.closed) {
        // it never got going (it cannot load here): hand every waiting parse back rather than start thread after thread
        this.broken = true;
        for (const q of this.queue.splice(0))
          q.reject(Object.assign(new Error(err.message), { [LOST]: true }));
      }
      if (!this.closed) this.pump();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`a layer parser thread stopped (exit ${code})`)));
    this.slots.push(slot);
    return slot;
  }

  private retire(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
  }

  /** Threads running now (for tests: an idle pool stops its threads). */
  get threads(): number {
    return this.slots.length;
  }

  /** Stop every thread; queued and running parses reject. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new Error('the layer parser pool was closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
