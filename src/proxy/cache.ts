// The mirror's content-addressed cache on disk: `DIR/blobs/<alg>/<hex>`, a file only ever renamed into place after
// its bytes hashed to its name, and hashed again whenever it is served (a file changed on disk is dropped).
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { algorithmOf, type Digest, hexOf, verifyBytes } from '../digest/index.js';
import { writeAtomic } from '../util/index.js';

/** A content-addressed store of verified manifests and blobs. */
export class ContentCache {
  constructor(readonly dir: string) {}

  /** The path a digest lives at. */
  path(d: Digest): string {
    return join(this.dir, 'blobs', algorithmOf(d), hexOf(d));
  }

  /** The size of the cached file, or undefined when it is not there. */
  async size(d: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.path(d))).size;
    } catch {
      return undefined;
    }
  }

  /** Small content (a manifest), checked against its digest; a file that no longer matches is removed. */
  async read(d: Digest): Promise<Buffer | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path(d));
    } catch {
      return undefined;
    }
    try {
      verifyBytes(bytes, { digest: d });
      return bytes;
    } catch {
      await this.drop(d);
      return undefined;
    }
  }

  /** The cached file as a stream (the caller hashes it while serving). */
  stream(d: Digest): Readable {
    return createReadStream(this.path(d));
  }

  /** Store bytes already verified against `d`. */
  async put(d: Digest, bytes: Buffer): Promise<void> {
    const p = this.path(d);
    await mkdir(dirname(p), { recursive: true });
    await writeAtomic(p, bytes);
  }

  /** A temp file beside the blob's place; `commit()` renames it in (only after the hash matched). */
  async begin(d: Digest): Promise<PendingBlob> {
    const p = this.path(d);
    await mkdir(dirname(p), { recursive: true });
    const tmp = join(dirname(p), `.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    return new PendingBlob(await open(tmp, 'wx'), tmp, p);
  }

  async drop(d: Digest): Promise<void> {
    await rm(this.path(d), { force: true }).catch(() => undefined);
  }
}

/** A blob being written; nothing is visible under its digest until {@link PendingBlob.commit}. */
export class PendingBlob {
  private chain: Promise<unknown> = Promise.resolve();
  private failed = false;

  constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly final: string,
  ) {}

  /** Queue a chunk; a failing write (disk full) only turns the cache off for this blob. */
  write(chunk: Buffer): void {
    this.chain = this.chain.then(async () => {
      if (this.failed) return;
      await this.fh.write(chunk).catch(() => {
        this.failed = true;
      });
    });
  }

  async commit(): Promise<boolean> {
    await this.chain;
    try {
      if (this.failed) throw new Error('write failed');
      await this.fh.sync();
      await this.fh.close();
      await rename(this.tmp, this.final);
      return true;
    } catch {
      await this.abort();
      return false;
    }
  }

  async abort(): Promise<void> {
    await this.chain;
    await this.fh.close().catch(() => undefined);
    await rm(this.tmp, { force: true }).catch(() => undefined);
  }
}
