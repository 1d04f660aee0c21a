// Where Notary metadata comes from: a notary server over HTTPS (token auth through the registry client), or a
// set of files (a trustpin archive, docker's trust cache, notary fixtures) with no network at all.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readCapped } from '../../digest/index.js';
import { TrustpinError } from '../../errors/index.js';
import type { RegistryClient } from '../../registry/index.js';
import { header } from '../../registry/index.js';

export interface TrustSource {
  readonly describe: string;
  readonly network: boolean;
  /** `name` as on the server: `timestamp.json`, `3.root.json`, `snapshot.<hex>.json`, `targets/releases.json` */
  fetch(gun: string, name: string, maxLength: number, signal?: AbortSignal): Promise<Buffer | undefined>;
}

export class NotaryServer implements TrustSource {
  readonly network = true;
  readonly host: string;
  constructor(
    readonly url: string,
    private readonly client: RegistryClient,
  ) {
    const u = new URL(url);
    if (u.protocol !== 'https:') {
      throw new TrustpinError('INSECURE_REFUSED', `trust server ${url} is not HTTPS`, {
        hint: 'notary servers are always HTTPS (DOCKER_CONTENT_TRUST_SERVER must be https://)',
      });
    }
    this.host = u.host;
  }
  get describe(): string {
    return this.url;
  }

  async fetch(
    gun: string,
    name: string,
    maxLength: number,
    signal?: AbortSignal,
  ): Promise<Buffer | undefined> {
    // the server was named https://: never let the loopback plain-HTTP fallback reach it
    const res = await this.client.request(
      this.host,
      gun,
      'GET',
      `_trust/tuf/${name}`,
      {},
      { scheme: 'https', signal },
    );
    if (res.status === 404) {
      await res.body.dump().catch(() => undefined);
      return undefined;
    }
    if (res.status !== 200) {
      await res.body.dump().catch(() => undefined);
      throw new TrustpinError(
        res.status === 401 ? 'AUTH_REQUIRED' : 'REGISTRY_ERROR',
        `trust server ${this.url} answered ${res.status} for ${gun} ${name}`,
        {
          hint:
            res.status === 401
              ? `log in to the registry of ${gun}`
              : 'the notary server is failing; retry, or read an archive (option trustArchive)',
        },
      );
    }
    const len = Number(header(res.headers, 'content-length') ?? Number.NaN);
    if (len > maxLength) {
      await res.body.dump().catch(() => undefined);
      throw tooLong(name, maxLength, `${len} bytes (Content-Length)`);
    }
    try {
      return await readCapped(res.body, maxLength, `${gun} ${name}`);
    } catch (e) {
      if (e instanceof TrustpinError && e.code === 'SIZE_EXCEEDED')
        throw tooLong(name, maxLength, `more than ${maxLength} bytes`);
      throw e;
    }
  }
}

function tooLong(name: string, max: number, found: string): TrustpinError {
  return new TrustpinError(
    'SIZE_EXCEEDED',
    `trust metadata ${name} is longer than allowed (the length its parent signed, or the cap for root and timestamp)`,
    {
      expected: `at most ${max} bytes`,
      found,
      hint: 'endless-data attack or a broken server: nothing was used',
    },
  );
}

/** Metadata held as files: name → bytes, per GUN. Checksum names fall back to the plain role file. */
export class FileSet implements TrustSource {
  readonly network = false;
  constructor(
    readonly describe: string,
    private readonly files: Map<string, Map<string, Buffer>>,
    readonly fetchedAt?: string,
  ) {}

  gun(gun: string): Map<string, Buffer> | undefined {
    return (
      this.files.get(gun) ?? (this.files.size === 1 && this.files.has('*') ? this.files.get('*') : undefined)
    );
  }

  guns(): string[] {
    return [...this.files.keys()];
  }

  async fetch(gun: string, name: string, maxLength: number): Promise<Buffer | undefined> {
    const set = this.gun(gun);
    if (!set) return undefined;
    const plain = name.replace(/\.[0-9a-f]{64,128}\.json$/, '.json');
    const b = set.get(name) ?? set.get(plain);
    if (b && b.length > maxLength) throw tooLong(name, maxLength, `${b.length} bytes`);
    return b;
  }
}

function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.json') && statSync(p).size <= 16 * 1024 * 1024) {
        out.set(relative(dir, p).split('\\').join('/'), readFileSync(p));
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Open `--trust-archive PATH`: a trustpin archive file, or a directory of TUF metadata — a single repo's
 * metadata dir (with root.json), docker's `~/.docker/trust` (tuf/<GUN>/metadata), or a dir containing one.
 */
export function openTrustArchive(path: string, gun: string): FileSet {
  if (!existsSync(path)) throw new TrustpinError('NOT_FOUND', `trust archive ${path} does not exist`);
  if (statSync(path).isFile()) return readArchiveFile(path);
  const candidates = [
    path,
    join(path, 'metadata'),
    join(path, 'tuf', gun, 'metadata'),
    join(path, gun, 'metadata'),
    join(path, gun),
  ];
  for (const c of candidates) {
    if (existsSync(join(c, 'root.json')) || existsSync(join(c, '1.root.json'))) {
      return new FileSet(`metadata directory ${c}`, new Map([[gun, readTree(c)]]));
    }
  }
  throw new TrustpinError('TRUST_DATA_NOT_FOUND', `no TUF metadata for ${gun} under ${path}`, {
    expected: `root.json in ${path}, ${path}/metadata, or ${path}/tuf/${gun}/metadata`,
    hint: 'pass a trustpin archive (trustpin trust archive) or a directory of notary metadata',
  });
}

export const ARCHIVE_FORMAT = 'trustpin-trust-archive/v1';

export interface ArchiveFile {
  format: typeof ARCHIVE_FORMAT;
  createdAt: string;
  server: string;
  repositories: { gun: string; fetchedAt: string; files: Record<string, string> }[];
}

/** Largest archive read into memory; a repository's complete notary history is a few hundred kilobytes. */
export const ARCHIVE_MAX = 256 * 1024 * 1024;

function readArchiveFile(path: string): FileSet {
  const size = statSync(path).size;
  if (size > ARCHIVE_MAX) {
    throw new TrustpinError('SIZE_EXCEEDED', `${path} is too large for a trust archive`, {
      expected: `at most ${ARCHIVE_MAX} bytes`,
      found: `${size} bytes`,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TrustpinError('USAGE', `${path} is not a trustpin trust archive: ${(e as Error).message}`);
  }
  const d = (doc ?? {}) as Partial<Record<keyof ArchiveFile, unknown>>;
  if (typeof doc !== 'object' || d.format !== ARCHIVE_FORMAT || !Array.isArray(d.repositories)) {
    throw new TrustpinError('USAGE', `${path} is not a trustpin trust archive`, {
      expected: ARCHIVE_FORMAT,
      // never String() a parsed value: an object whose `toString` is not a function cannot be converted
      found:
        typeof doc === 'object' && doc
          ? typeof d.format === 'string'
            ? JSON.stringify(d.format.slice(0, 80))
            : `format: ${d.format === null ? 'null' : typeof d.format}`
          : typeof doc,
    });
  }
  // every member is data from a file someone handed over: checked before use, never trusted for its shape
  const malformed = (why: string) =>
    new TrustpinError('SOURCE_INVALID', `trust archive ${path} is malformed: ${why}`, {
      expected: `${ARCHIVE_FORMAT}: repositories[] of {gun: string, files: {name: base64 string}}`,
      hint: 'make the archive again with `trust archive`; nothing from this one was used',
    });
  const files = new Map<string, Map<string, Buffer>>();
  for (const [i, r] of (d.repositories as unknown[]).entries()) {
    const rep = r as { gun?: unknown; files?: unknown } | null;
    if (!rep || typeof rep !== 'object' || typeof rep.gun !== 'string')
      throw malformed(`repository ${i} has no gun`);
    if (!rep.files || typeof rep.files !== 'object' || Array.isArray(rep.files))
      throw malformed(`repository ${rep.gun} has no files`);
    const set = new Map<string, Buffer>();
    for (const [k, v] of Object.entries(rep.files)) {
      if (typeof v !== 'string') throw malformed(`${rep.gun} ${k} is not a base64 string`);
      set.set(k, Buffer.from(v, 'base64'));
    }
    files.set(rep.gun, set);
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : 'unknown');
  return new FileSet(
    `archive ${path} (from ${text(d.server)}, ${text(d.createdAt)})`,
    files,
    text(d.createdAt),
  );
}
