// Read-only file access for layouts and archives: a directory, or a tar indexed once (headers only, never
// extracted) whose members are served as byte ranges of the same open file.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import path, { posix } from 'node:path';
import { Readable } from 'node:stream';
import {
  type Algorithm,
  type Digest,
  DigestVerifier,
  type Expectation,
  readCapped,
} from '../digest/index.js';
import { isTrustpinError, TrustpinError } from '../errors/index.js';

/** Where a layout's files live: a directory, or members of a tar (see archive.ts). Paths are `/`-relative. */
export interface LayoutFs {
  /** for messages: `oci:/path`, `oci-archive:/x.tar` */
  readonly where: string;
  /** size of the regular file at `rel`; undefined when there is none */
  size(rel: string): Promise<number | undefined>;
  readCapped(rel: string, cap: number, what: string): Promise<Buffer>;
  /** the file's bytes; at most `limit + 1` are read, enough to prove a file longer than `limit` */
  stream(rel: string, limit: number): Promise<Readable>;
  close(): Promise<void>;
}

export function ioError(e: unknown, what: string): TrustpinError {
  if (isTrustpinError(e)) return e;
  return new TrustpinError('IO_ERROR', `cannot read ${what}`, { found: (e as Error).message, cause: e });
}

export class DirFs implements LayoutFs {
  readonly root: string;
  readonly where: string;
  constructor(root: string, where = `oci:${root}`) {
    this.root = root;
    this.where = where;
  }
  private abs(rel: string): string {
    return path.join(this.root, ...rel.split('/'));
  }
  async size(rel: string): Promise<number | undefined> {
    try {
      const st = await stat(this.abs(rel));
      return st.isFile() ? st.size : undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw ioError(e, this.abs(rel));
    }
  }
  async readCapped(rel: string, cap: number, what: string): Promise<Buffer> {
    try {
      return await readCapped(createReadStream(this.abs(rel)), cap, what);
    } catch (e) {
      throw ioError(e, this.abs(rel));
    }
  }
  async stream(rel: string, limit: number): Promise<Readable> {
    // `end` is inclusive: limit + 1 bytes at most, so a huge or endless file costs nothing.
    return createReadStream(this.abs(rel), { start: 0, end: limit });
  }
  async close(): Promise<void> {}
}

/** Pipe `src` through a DigestVerifier; read errors surface as IO_ERROR, and abandoning the result stops `src`. */
export function verifiedStream(src: Readable, want: Expectation): Readable {
  const v = new DigestVerifier(want);
  src.on('error', (e) => v.destroy(ioError(e, `${want.what ?? 'blob'} ${want.digest}`)));
  v.on('close', () => src.destroy());
  src.pipe(v);
  return v;
}

const BLOCK = 512;
/** PAX and GNU long-name records are metadata; anything larger is a hostile or broken archive. */
const META_CAP = 1024 * 1024;
const MAX_LINK_HOPS = 16;
const CHUNK = 64 * 1024;

type Entry =
  | { kind: 'file'; offset: number; size: number }
  | { kind: 'symlink' | 'hardlink'; target: string };

export interface TarEntry {
  /** the name after links were followed */
  name: string;
  offset: number;
  size: number;
}

/**
 * Canonical form of a member name: `./a//b/` → `a/b`. Any `..` segment makes the name undefined: lookups are
 * map hits inside the archive so nothing can escape it, but such a member is not part of a layout either.
 */
export function normalizeTarName(name: string): string | undefined {
  if (name.split('/').includes('..')) return undefined;
  const n = posix.normalize(`/${name}`).slice(1).replace(/\/+$/, '');
  return n === '' ? undefined : n;
}

function cstring(b: Buffer, start: number, len: number): string {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

/** A numeric header field: octal text, or GNU base-256 when the high bit of the first byte is set. */
function numeric(b: Buffer, start: number, len: number, what: string): number {
  const field = b.subarray(start, start + len);
  if (field[0]! & 0x80) {
    // Negative base-256 (0xff lead) is never a valid size.
    if (field[0] === 0xff) throw corrupt(`negative ${what}`);
    let v = BigInt(field[0]! & 0x7f);
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} too large`);
    return Number(v);
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt(`${what} is not octal (${JSON.stringify(text)})`);
  return Number.parseInt(text, 8);
}

function corrupt(why: string): TrustpinError {
  return new TrustpinError('SOURCE_INVALID', `not a readable tar archive: ${why}`, {
    hint: 'the file is truncated, compressed (gunzip it first) or not a tar archive',
  });
}

function checksumOk(h: Buffer): boolean {
  const want = numeric(h, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === want;
}

/** PAX records are `LEN key=value\n`, LEN counting the whole record. */
function parsePax(b: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < b.length) {
    const sp = b.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number.parseInt(b.subarray(i, sp).toString('latin1'), 10);
    if (!Number.isSafeInteger(len) || len <= sp - i || i + len > b.length)
      throw corrupt('malformed PAX header');
    const rec = b.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

export class TarIndex {
  readonly path: string;
  private readonly fh: FileHandle;
  private readonly entries: Map<string, Entry>;

  private constructor(path: string, fh: FileHandle, entries: Map<string, Entry>) {
    this.path = path;
    this.fh = fh;
    this.entries = entries;
  }

  /** Read every header once. The handle stays open so later reads see the file that was indexed. */
  static async open(path: string): Promise<TarIndex> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new TrustpinError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR', `cannot open archive ${path}`, {
        found: (e as Error).message,
        cause: e,
      });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new TrustpinError('SOURCE_INVALID', `${path} is not a regular file`);
      return new TarIndex(path, fh, await scan(fh, st.size));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The regular file behind `name`, following symlinks and hard links inside the archive. */
  lookup(name: string): TarEntry | undefined {
    let n = normalizeTarName(name);
    for (let hops = 0; n !== undefined && hops <= MAX_LINK_HOPS; hops++) {
      const e = this.entries.get(n);
      if (!e) return undefined;
      if (e.kind === 'file') return { name: n, offset: e.offset, size: e.size };
      // Hard links name a member; symlinks are relative to the link's directory unless absolute.
      const base = e.kind === 'symlink' && !e.target.startsWith('/') ? posix.dirname(n) : '';
      n = normalizeTarName(posix.join(base, e.target));
    }
    return undefined;
  }

  /** The entry's bytes, never past its end, and at most `limit + 1` of them when a limit is given. */
  stream(e: TarEntry, limit = e.size): Readable {
    const fh = this.fh;
    let pos = e.offset;
    const end = e.offset + Math.min(e.size, limit + 1);
    // Positional reads on the shared handle, so concurrent streams do not disturb each other; not
    // fh.createReadStream, whose destroy() would close the handle every other member is read through.
    return new Readable({
      async read() {
        const n = Math.min(CHUNK, end - pos);
        if (n <= 0) return void this.push(null);
        try {
          const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(n), 0, n, pos);
          if (bytesRead === 0) return void this.destroy(corrupt('the archive shrank after it was indexed'));
          pos += bytesRead;
          this.push(buffer.subarray(0, bytesRead));
        } catch (err) {
          this.destroy(err as Error);
        }
      },
    });
  }

  async read(e: TarEntry, cap: number, what: string): Promise<Buffer> {
    return readCapped(this.stream(e), cap, what);
  }

  /** Digest of the whole entry, plus its first bytes (enough to sniff a compression magic number). */
  async hash(e: TarEntry, algo: Algorithm): Promise<{ digest: Digest; head: Buffer }> {
    const h = createHash(algo);
    const heads: Buffer[] = [];
    let n = 0;
    for await (const c of this.stream(e) as AsyncIterable<Buffer>) {
      h.update(c);
      if (n < 8) heads.push(c);
      n += c.length;
    }
    return { digest: `${algo}:${h.digest('hex')}` as Digest, head: Buffer.concat(heads).subarray(0, 8) };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const b = Buffer.alloc(len);
  const { bytesRead } = await fh.read(b, 0, len, pos);
  if (bytesRead !== len) throw corrupt(`truncated at byte ${pos + bytesRead}`);
  return b;
}

async function scan(fh: FileHandle, fileSize: number): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  let pos = 0;
  // Extended headers (PAX `x`, GNU `L`/`K`) apply to the next real header only.
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  while (pos + BLOCK <= fileSize) {
    const h = await readAt(fh, pos, BLOCK);
    if (h.every((x) => x === 0)) break; // end-of-archive marker
    if (!checksumOk(h)) throw corrupt(`bad header checksum at byte ${pos}`);
    const type = String.fromCharCode(h[156]!);
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    const prefix = ustar ? cstring(h, 345, 155) : '';
    const paxSize = pax.get('size');
    let size = paxSize !== undefined ? Number(paxSize) : numeric(h, 124, 12, 'size');
    if (!Number.isSafeInteger(size) || size < 0) throw corrupt(`bad size at byte ${pos}`);
    // Header-only types carry no data whatever their size field says (Go's archive/tar agrees).
    if ('123456'.includes(type)) size = 0;
    const data = pos + BLOCK;
    if (data + size > fileSize) throw corrupt(`entry at byte ${pos} runs past the end of the file`);
    pos = data + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'x' || type === 'L' || type === 'K') {
      if (size > META_CAP) throw corrupt(`extended header of ${size} bytes`);
      const body = await readAt(fh, data, size);
      if (type === 'x') pax = parsePax(body);
      else if (type === 'L') longName = cstring(body, 0, body.length);
      else longLink = cstring(body, 0, body.length);
      continue;
    }
    if (type === 'g') continue; // global PAX defaults: nothing trustpin needs
    const rawName =
      pax.get('path') ?? longName ?? (prefix ? `${prefix}/${cstring(h, 0, 100)}` : cstring(h, 0, 100));
    const link = pax.get('linkpath') ?? longLink ?? cstring(h, 157, 100);
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    const name = normalizeTarName(rawName);
    if (name === undefined) continue; // `..`-escaping members can never be asked for
    if ((type === '0' || type === '\0' || type === '7') && !rawName.endsWith('/')) {
      entries.set(name, { kind: 'file', offset: data, size });
    } else if (type === '1' || type === '2') {
      entries.set(name, { kind: type === '1' ? 'hardlink' : 'symlink', target: link });
    } else {
      // A later directory or device replaces an earlier file of the same name, as extraction would.
      entries.delete(name);
    }
  }
  return entries;
}

/** An OCI layout whose files are members of a tar. */
export class TarFs implements LayoutFs {
  readonly tar: TarIndex;
  readonly where: string;
  constructor(tar: TarIndex, where: string) {
    this.tar = tar;
    this.where = where;
  }
  private entry(rel: string): TarEntry {
    const e = this.tar.lookup(rel);
    if (!e) throw new TrustpinError('NOT_FOUND', `${this.where} has no ${rel}`);
    return e;
  }
  async size(rel: string): Promise<number | undefined> {
    return this.tar.lookup(rel)?.size;
  }
  readCapped(rel: string, cap: number, what: string): Promise<Buffer> {
    return this.tar.read(this.entry(rel), cap, what);
  }
  async stream(rel: string, limit: number): Promise<Readable> {
    return this.tar.stream(this.entry(rel), limit);
  }
  close(): Promise<void> {
    return this.tar.close();
  }
}
