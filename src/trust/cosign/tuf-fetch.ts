// The two ways tuf-js reads a Sigstore TUF mirror: over the project's HTTP client (proxies, certs.d CAs, timeouts,
// redirects that never downgrade), or from a directory on disk. Both hand tuf-js a web ReadableStream, both say
// "not there" as DownloadHTTPError 404 (which ends tuf-js's root walk), and both are capped before tuf-js's own limit.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { BaseFetcher } from 'tuf-js';
// tuf-js's index does not re-export its errors; its root walk ends on this class, so it must be tuf-js's own
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { TrustpinError } from '../../errors/index.js';
import { isLoopbackHost } from '../../reference/index.js';
import { Http, hostConfig, type RegistryOptions } from '../../registry/index.js';

/** One download as the fetcher saw it: the error it threw (transport or status), for the error mapping. */
export interface FetchRecord {
  url: string;
  error?: TrustpinError | undefined;
}

type WebStream = ReadableStream<Uint8Array> & globalThis.ReadableStream<Uint8Array<ArrayBuffer>>;

/**
 * The base of both fetchers: caps each download at `cap(url)` (at most what tuf-js asks), remembers the last
 * download and whether it failed, and closes a body tuf-js stopped reading (tuf-js only releases its reader).
 */
export abstract class CappedFetcher extends BaseFetcher {
  last: FetchRecord | undefined;
  readonly fetched: string[] = [];
  private open: Readable[] = [];

  constructor(private readonly cap: (url: string) => number) {
    super();
  }

  protected abstract body(url: string): Promise<Readable>;

  override async fetch(url: string): Promise<WebStream> {
    this.fetched.push(url);
    const b = await this.body(url);
    this.open.push(b);
    return Readable.toWeb(b) as unknown as WebStream;
  }

  override async downloadFile<T>(
    url: string,
    maxLength: number,
    handler: (file: string) => Promise<T>,
  ): Promise<T> {
    this.last = { url };
    const limit = Math.min(maxLength, this.cap(url));
    try {
      return await super.downloadFile(url, limit, handler);
    } catch (e) {
      this.last.error = fetchFailure(url, e, limit);
      throw e;
    } finally {
      for (const b of this.open) if (!b.readableEnded) b.destroy();
      this.open = [];
    }
  }
}

/** What a failed download means to a user; undefined when the failure is not the transport's (a handler's). */
export function fetchFailure(url: string, e: unknown, limit?: number): TrustpinError | undefined {
  if (e instanceof TrustpinError) return e;
  const status = (e as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') {
    return new TrustpinError(
      status === 404 || status === 403 ? 'NOT_FOUND' : 'NETWORK_ERROR',
      `${url}: ${status}`,
      {
        expected: 'the TUF mirror to serve this metadata file',
        found: `HTTP ${status}`,
        hint: 'check the mirror URL (a Sigstore TUF mirror serves N.root.json and timestamp.json at its top, targets under targets/)',
      },
    );
  }
  if (e instanceof Error && e.constructor.name === 'DownloadLengthMismatchError') {
    const most = limit === undefined ? 'the allowed length' : `${limit} bytes`;
    return new TrustpinError('SIZE_EXCEEDED', `${url} is larger than ${most}`, {
      expected: `at most ${most} (the signed length, or trustpin's cap)`,
      found: 'more',
      hint: 'the mirror serves something other than the TUF repository; do not use it',
    });
  }
  return undefined;
}

/** A mirror over HTTP(S) through the project's client; plain HTTP only to a loopback host. */
export class HttpFetcher extends CappedFetcher {
  private readonly http: Http;

  constructor(
    cap: (url: string) => number,
    opts: RegistryOptions,
    private readonly signal?: AbortSignal,
  ) {
    super(cap);
    this.http = new Http(opts, (h) => hostConfig(h, opts));
  }

  protected async body(url: string): Promise<Readable> {
    requireSecure(url);
    const res = await this.http.send({ method: 'GET', url, signal: this.signal });
    requireSecure(res.url);
    if (res.status !== 200) {
      await res.body.dump().catch(() => undefined);
      throw new DownloadHTTPError(`${url} answered ${res.status}`, res.status);
    }
    return res.body;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

/** HTTPS, or HTTP to a loopback host (a test or a local mirror): metadata is signed, but a downgrade is refused. */
export function requireSecure(url: string): void {
  const u = new URL(url);
  if (u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.host))) return;
  throw new TrustpinError(
    'INSECURE_REFUSED',
    `refusing to fetch TUF metadata over ${u.protocol}// from ${u.host}`,
    {
      expected: 'an https:// mirror (plain http:// only on a loopback address)',
      found: `${u.protocol}//${u.host}`,
      hint: 'use the mirror over HTTPS',
    },
  );
}

/**
 * A mirror in a directory: `file:` URLs below `root`. Names tuf-js asks for that the directory keeps elsewhere are
 * found there: `N.root.json` in `root_history/` (root-signing's layout), `N.snapshot.json` / `N.targets.json`
 * (consistent snapshots) as the plain file, `<hash>.name` targets as `name`. tuf-js checks every version and hash,
 * so a plain file of the wrong version fails verification, never passes it.
 */
export class DirFetcher extends CappedFetcher {
  constructor(
    cap: (url: string) => number,
    private readonly root: string,
    private readonly signal?: AbortSignal,
  ) {
    super(cap);
  }

  protected async body(url: string): Promise<Readable> {
    if (this.signal?.aborted) {
      throw new TrustpinError('ABORTED', `${url}: aborted`, { cause: this.signal.reason });
    }
    const p = this.locate(fileURLToPath(url));
    if (!p) throw new DownloadHTTPError(`${url} not found`, 404);
    return createReadStream(p);
  }

  private locate(path: string): string | undefined {
    const rel = relative(this.root, resolve(path));
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
    const dir = resolve(path, '..');
    const base = rel.split(sep).pop()!;
    const tries = [resolve(path)];
    const version = /^(\d+)\.(root|snapshot|targets)\.json$/.exec(base);
    if (version?.[2] === 'root') tries.push(join(dir, 'root_history', base));
    else if (version) tries.push(join(dir, `${version[2]}.json`));
    const hashed = /^[0-9a-f]{64,128}\.(.+)$/.exec(base);
    if (hashed) tries.push(join(dir, hashed[1]!));
    return tries.find((t) => existsSync(t) && statSync(t).isFile());
  }
}
