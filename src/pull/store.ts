// The destination OCI layout: blobs stream into `blobs/.tmp/`, are proven (by a verifying stream, or from the
// temp file on a worker thread), fsynced, and only then renamed to `blobs/sha256/<hex>`; a blob already there is
// re-hashed before it is trusted. index.json is last.
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { algorithmOf, type Digest, DigestVerifier, hexOf } from '../digest/index.js';
import { isTrustpinError, TrustpinError } from '../errors/index.js';
import { proveBlobFile, type VerifiedFile, verifiedFileAt } from '../layer/index.js';
import type { Descriptor } from '../manifest/index.js';
import {
  blobPath,
  checkMarker,
  emptyIndex,
  INDEX_FILE,
  type LayoutIndex,
  MARKER_FILE,
  markerText,
  withIndexEntry,
} from '../source/index.js';
import { alive, deadTemp, withLock, writeAtomic } from '../util/index.js';

/** Coalesce network chunks into fewer, larger writes. */
const WRITE_BATCH = 1024 * 1024;

function ioError(e: unknown, what: string): TrustpinError {
  if (e instanceof TrustpinError) return e;
  const err = e as NodeJS.ErrnoException;
  return new TrustpinError('IO_ERROR', `${what}: ${err.message}`, {
    found: err.code,
    hint: 'check free space and permissions of the destination directory',
    cause: e,
  });
}

/** A write into a temp file; a failure (ENOSPC, EIO) is IO_ERROR naming the file. */
async function write(fh: FileHandle, batch: Buffer[], path: string): Promise<void> {
  try {
    await fh.writev(batch);
  } catch (e) {
    throw ioError(e, `cannot write ${path}`);
  }
}

/** A blob in a temp file; `commit` is set once its digest is proven. */
interface Staged {
  d: Descriptor;
  tmp: string;
  fh: FileHandle;
  commit: Promise<void> | undefined;
}

/**
 * Every chunk of `src` into `fh`, coalesced into writes of about WRITE_BATCH: the stream is paused while a write
 * is in flight (no async iterator: a promise per network chunk costs the main thread). Fails as soon as more than
 * `d.size` bytes arrive. Returns the bytes written.
 */
function writeAll(
  fh: FileHandle,
  src: Readable,
  path: string,
  d: Descriptor,
  onBytes: ((n: number) => void) | undefined,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let batch: Buffer[] = [];
    let pending = 0;
    let n = 0;
    let writing: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      src.off('data', onData);
      reject(e);
    };
    const flush = () => {
      const b = batch;
      const len = pending;
      batch = [];
      pending = 0;
      writing = writing.then(async () => {
        await write(fh, b, path);
        n += len;
        onBytes?.(len);
      });
      return writing;
    };
    const onData = (c: Buffer) => {
      if (n + pending + c.length > d.size) {
        fail(
          new TrustpinError('SIZE_EXCEEDED', `blob ${d.digest} is longer than its descriptor`, {
            expected: `${d.size} bytes`,
            found: `more than ${d.size} bytes`,
            hint: 'the source is serving other content or an endless body; nothing was stored',
          }),
        );
        return;
      }
      batch.push(c);
      pending += c.length;
      if (pending >= WRITE_BATCH) {
        src.pause();
        flush().then(() => failed || src.resume(), fail);
      }
    };
    let ended = false;
    src.on('data', onData);
    src.once('error', fail);
    // destroyed without an error (the pull stopped it): no 'end' and no 'error' will come
    src.once('close', () => {
      if (!ended)
        fail(
          src.errored ?? Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }),
        );
    });
    src.once('end', () => {
      ended = true;
      if (failed) return;
      flush().then(() => {
        if (!failed) resolve(n);
      }, fail);
    });
  });
}

export class OciStore {
  readonly tmp: string;
  /**
   * blobs written to temp files, with their open handles: unproven (`commit` undefined), or proven with their
   * commit (fsync + rename) perhaps still running
   */
  private readonly staged = new Map<Digest, Staged>();
  private readonly tmpPrefix = `${process.pid}-${randomBytes(4).toString('hex')}-`;

  private constructor(readonly dir: string) {
    this.tmp = join(dir, 'blobs', '.tmp');
  }

  /** Create (or reopen) a layout at `dir`, and delete temp files that dead processes left behind. */
  static async open(dir: string): Promise<OciStore> {
    const s = new OciStore(resolve(dir));
    try {
      await mkdir(join(s.dir, 'blobs', 'sha256'), { recursive: true });
      await mkdir(s.tmp, { recursive: true });
      await s.checkMarker();
      await s.sweep();
    } catch (e) {
      throw ioError(e, `cannot prepare the OCI layout at ${s.dir}`);
    }
    return s;
  }

  private async checkMarker(): Promise<void> {
    const marker = join(this.dir, MARKER_FILE);
    const raw = await readFile(marker, 'utf8').catch(() => undefined);
    if (raw === undefined) {
      await writeAtomic(marker, markerText());
      return;
    }
    if (!checkMarker(raw).ok) {
      throw new TrustpinError('SOURCE_INVALID', `${this.dir} holds an oci-layout trustpin cannot write to`, {
        expected: `{"imageLayoutVersion": "1.x.y"}`,
        found: raw.slice(0, 80),
        hint: 'choose another destination directory (option dest)',
      });
    }
  }

  /**
   * Temp files are named `<pid>-…` (blobs) or `.<pid>-….tmp` (index.json, oci-layout, markers); those of
   * processes that no longer run are a killed pull's partial writes.
   */
  private async sweep(): Promise<void> {
    for (const n of await readdir(this.tmp)) {
      const pid = Number(/^(\d+)-/.exec(n)?.[1]);
      if ((pid && pid !== process.pid && !alive(pid)) || deadTemp(n))
        await rm(join(this.tmp, n), { force: true });
    }
    for (const n of await readdir(this.dir)) if (deadTemp(n)) await rm(join(this.dir, n), { force: true });
  }

  path(d: { digest: Digest }): string {
    if (algorithmOf(d.digest) !== 'sha256')
      throw new TrustpinError('DIGEST_UNVERIFIABLE', `cannot store ${d.digest} in an OCI layout here`, {
        expected: 'sha256 digests',
        found: algorithmOf(d.digest),
      });
    return join(this.dir, blobPath(d.digest));
  }

  /**
   * A stored blob is used only when its size and hash still match (hashed on a worker thread, like every blob a
   * pull proves); a bad one is deleted.
   */
  async has(d: Descriptor): Promise<'present' | 'absent' | 'replaced'> {
    const p = this.path(d);
    const st = await stat(p).catch(() => undefined);
    if (!st) return 'absent';
    if (st.isFile() && st.size === d.size && (await this.matches(p, d))) return 'present';
    await rm(p, { force: true, recursive: true });
    return 'replaced';
  }

  /** Whether the file at `p` is the blob `d` (a file that cannot be read is not). */
  private async matches(p: string, d: Descriptor): Promise<boolean> {
    const fh = await open(p, 'r').catch(() => undefined);
    if (!fh) return false;
    try {
      await proveBlobFile(fh, `blob ${d.digest}`, { digest: d.digest, size: d.size });
      return true;
    } catch (e) {
      if (isTrustpinError(e, 'DIGEST_MISMATCH') || isTrustpinError(e, 'SIZE_MISMATCH')) return false;
      throw e;
    } finally {
      await fh.close();
    }
  }

  /** A small stored blob's bytes when its size matches (the caller verifies the digest), else undefined. */
  async read(d: Descriptor, cap: number): Promise<Buffer | undefined> {
    if (d.size > cap) return undefined;
    const p = this.path(d);
    const st = await stat(p).catch(() => undefined);
    if (!st?.isFile() || st.size !== d.size) return undefined;
    return readFile(p).catch(() => undefined);
  }

  /** A fresh temp file; the directory is made again in case a concurrent pull's close() just removed it. */
  private async createTemp(d: Descriptor): Promise<{ tmp: string; fh: FileHandle }> {
    const tmp = join(this.tmp, `${this.tmpPrefix}${hexOf(d.digest).slice(0, 16)}`);
    try {
      await mkdir(this.tmp, { recursive: true });
      return { tmp, fh: await open(tmp, 'wx+', 0o644) };
    } catch (e) {
      throw ioError(e, `cannot create ${tmp}`);
    }
  }

  /**
   * Stream a blob's bytes into a temp file: never more than `d.size` bytes, and exactly that many or it fails
   * (SIZE_EXCEEDED / SIZE_MISMATCH, nothing kept). Resolves once every byte is written — **not** once they are
   * verified, unless `src` proved them itself (a {@link DigestVerifier} for `d` that ended cleanly). Either way
   * nothing is renamed into `blobs/sha256` until the digest is proven: by that stream, by {@link OciStore.prove}
   * (hashes the file on a worker thread), or by a reader that hashed it first and called
   * {@link OciStore.proven} (pull's layer proofs, which check the blob before they inflate it). Until then the
   * blob is readable only through {@link OciStore.unproven}. Once proven, the commit — fsync, then rename — goes
   * on in the background so the disk flush overlaps the diff_id proofs, and until `settle()` readers use the
   * temp file's handle, which stays valid across the rename.
   */
  async put(d: Descriptor, src: Readable, onBytes?: (n: number) => void): Promise<void> {
    const { tmp, fh } = await this.createTemp(d);
    let n = 0;
    try {
      n = await writeAll(fh, src, tmp, d, onBytes);
      if (n !== d.size) {
        throw new TrustpinError('SIZE_MISMATCH', `blob ${d.digest} has the wrong length`, {
          expected: `${d.size} bytes`,
          found: `${n} bytes`,
          hint: 'the source served other content; nothing was stored',
        });
      }
    } catch (e) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      src.destroy();
      throw e;
    }
    const entry: Staged = { d, tmp, fh, commit: undefined };
    this.staged.set(d.digest, entry);
    // a verifying stream that ended without error has proven exactly these bytes
    if (src instanceof DigestVerifier && src.verified && src.expected.digest === d.digest) this.proven(d);
  }

  /** Whether `d` is staged here and still waits for its digest to be proven. */
  isUnproven(d: Descriptor): boolean {
    const s = this.staged.get(d.digest);
    return s !== undefined && s.commit === undefined;
  }

  /**
   * The temp file of a staged blob whose digest is not proven yet, for a reader that proves it before any use
   * (`proveAndReadLayer`); undefined when there is none (it was proven, or was already in the layout).
   */
  unproven(d: Descriptor, onBytes?: (n: number) => void): Omit<VerifiedFile, 'dispose'> | undefined {
    const s = this.staged.get(d.digest);
    if (!s || s.commit !== undefined) return undefined;
    return {
      path: s.tmp,
      descriptor: d,
      handle: async () => ({ fh: s.fh, release: async () => undefined }),
      onRead: onBytes,
    };
  }

  /**
   * The staged blob's digest was proven (by the caller, from its temp file): start its commit — fsync, then
   * rename into `blobs/sha256`. Idempotent.
   */
  proven(d: Descriptor): void {
    const s = this.staged.get(d.digest);
    if (!s || s.commit !== undefined) return;
    s.commit = s.fh
      .sync()
      .then(() => rename(s.tmp, this.path(d)))
      .catch((e) => Promise.reject(ioError(e, `cannot store ${d.digest} at ${this.path(d)}`)));
    s.commit.catch(() => undefined); // observed by settle()
  }

  /**
   * Prove a staged blob's length and digest by hashing its temp file on a worker thread, then commit it; on a
   * mismatch (SIZE_MISMATCH / DIGEST_MISMATCH) the temp file is removed. A blob already proven returns at once.
   */
  async prove(d: Descriptor): Promise<void> {
    const s = this.staged.get(d.digest);
    if (!s || s.commit !== undefined) return;
    try {
      await proveBlobFile(s.fh, `blob ${d.digest}`, { digest: d.digest, size: d.size });
    } catch (e) {
      await this.discard(d);
      throw e;
    }
    this.proven(d);
  }

  /** Drop a staged blob that failed its proof: its temp file is closed and removed. */
  async discard(d: Descriptor): Promise<void> {
    const s = this.staged.get(d.digest);
    if (!s || s.commit !== undefined) return;
    this.staged.delete(d.digest);
    await s.fh.close().catch(() => undefined);
    await rm(s.tmp, { force: true });
  }

  /**
   * Wait until every staged blob is durable under its name; the first failure is thrown. A blob whose digest was
   * never proven is not committed: it is removed, and that is an INTERNAL error (the pull forgot a proof).
   */
  async settle(): Promise<void> {
    const staged = [...this.staged.values()];
    this.staged.clear();
    const unproven = staged.filter((s) => s.commit === undefined);
    const results = await Promise.allSettled(staged.map((s) => s.commit ?? Promise.resolve()));
    for (const s of staged) await s.fh.close().catch(() => undefined);
    for (const s of unproven) await rm(s.tmp, { force: true });
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    if (unproven.length > 0)
      throw new TrustpinError('INTERNAL', `blob ${unproven[0]!.d.digest} was stored but never proven`);
  }

  /** Bytes already verified in memory (manifests, configs): written exactly as fetched. */
  async putBytes(d: Descriptor, bytes: Buffer): Promise<void> {
    const { tmp, fh } = await this.createTemp(d);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
      await fh.close();
      await rename(tmp, this.path(d));
    } catch (e) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw ioError(e, `cannot store ${d.digest} at ${tmp}`);
    }
  }

  /**
   * A stored, proven blob as a VerifiedFile for the decompressor (not deleted on dispose: it belongs to the
   * layout). A staged blob not proven yet is refused (INTERNAL): only {@link OciStore.unproven} hands that out.
   */
  file(d: Descriptor, onBytes?: (n: number) => void): VerifiedFile {
    if (this.isUnproven(d))
      throw new TrustpinError('INTERNAL', `blob ${d.digest} is read before its digest was proven`);
    const f = verifiedFileAt(this.path(d), d, { onRead: onBytes });
    const staged = this.staged.get(d.digest);
    if (staged) f.handle = async () => ({ fh: staged.fh, release: async () => undefined });
    return f;
  }

  /**
   * Make the renamed blobs durable, then point `tag` (or an unnamed entry) at `top` in index.json, under a
   * lock so two pulls into one layout do not lose each other's entries.
   */
  async tag(top: Descriptor, tag: string | undefined): Promise<void> {
    const blobs = await open(join(this.dir, 'blobs', 'sha256'), 'r');
    await blobs.sync().finally(() => blobs.close());
    await withLock(
      this.tmp,
      async () => {
        const file = join(this.dir, INDEX_FILE);
        const raw = await readFile(file, 'utf8').catch(() => undefined);
        let index: LayoutIndex = emptyIndex();
        if (raw !== undefined) {
          try {
            index = JSON.parse(raw);
            if (!Array.isArray(index.manifests)) throw new Error('no manifests array');
          } catch (e) {
            throw new TrustpinError('SOURCE_INVALID', `${file} is not an OCI index`, {
              found: (e as Error).message,
              hint: 'choose another destination directory (option dest), or remove the broken index.json',
            });
          }
        }
        await writeAtomic(file, JSON.stringify(withIndexEntry(index, top, tag))).catch((e) => {
          throw ioError(e, `cannot write ${file}`);
        });
      },
      10_000,
      'OCI layout',
    );
  }

  /** Remove this process's temp files and the temp dir when it is empty. */
  async close(): Promise<void> {
    await this.settle().catch(() => undefined);
    for (const n of await readdir(this.tmp).catch(() => [] as string[]))
      if (n.startsWith(this.tmpPrefix)) await rm(join(this.tmp, n), { force: true });
    await rmdir(this.tmp).catch(() => undefined);
  }
}
