// The destination OCI layout: blobs stream into `blobs/.tmp/` while verified, are fsynced, and only then are
// renamed to `blobs/sha256/<hex>`; a blob already there is re-hashed before it is trusted. index.json is last.
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { algorithmOf, type Digest, digestFile, hexOf } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { type VerifiedFile, verifiedFileAt } from '../layer/index.js';
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

export class OciStore {
  readonly tmp: string;
  /** verified blobs whose commit (fsync + rename) may still be running, with their open temp-file handles */
  private readonly staged = new Map<Digest, { fh: FileHandle; commit: Promise<void> }>();
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

  /** A stored blob is used only when its size and hash still match; a bad one is deleted. */
  async has(d: Descriptor): Promise<'present' | 'absent' | 'replaced'> {
    const p = this.path(d);
    const st = await stat(p).catch(() => undefined);
    if (!st) return 'absent';
    if (st.isFile() && st.size === d.size && (await digestFile(p)) === d.digest) return 'present';
    await rm(p, { force: true, recursive: true });
    return 'replaced';
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
   * Stream a verifying source (it fails at its end on a size or digest mismatch) into a temp file. Resolves once
   * every byte is in and verified; the commit — fsync, then rename into `blobs/sha256` — goes on in the
   * background so the disk flush overlaps the diff_id proofs. Until `settle()`, readers use the temp file's
   * handle, which stays valid across the rename.
   */
  async put(d: Descriptor, src: Readable, onBytes?: (n: number) => void): Promise<void> {
    const { tmp, fh } = await this.createTemp(d);
    let n = 0;
    try {
      let batch: Buffer[] = [];
      let pending = 0;
      for await (const c of src) {
        batch.push(c as Buffer);
        pending += (c as Buffer).length;
        if (pending >= WRITE_BATCH) {
          await write(fh, batch, tmp);
          n += pending;
          onBytes?.(pending);
          batch = [];
          pending = 0;
        }
      }
      if (pending > 0) await write(fh, batch, tmp);
      n += pending;
      onBytes?.(pending);
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
    const commit = fh
      .sync()
      .then(() => rename(tmp, this.path(d)))
      .catch((e) => Promise.reject(ioError(e, `cannot store ${d.digest} at ${this.path(d)}`)));
    commit.catch(() => undefined); // observed by settle()
    this.staged.set(d.digest, { fh, commit });
  }

  /** Wait until every blob put() verified is durable under its name; the first failure is thrown. */
  async settle(): Promise<void> {
    const staged = [...this.staged.values()];
    this.staged.clear();
    const results = await Promise.allSettled(staged.map((s) => s.commit));
    for (const s of staged) await s.fh.close().catch(() => undefined);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
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

  /** A stored blob as a VerifiedFile for the decompressor (not deleted on dispose: it belongs to the layout). */
  file(d: Descriptor, onBytes?: (n: number) => void): VerifiedFile {
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
