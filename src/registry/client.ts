// A small registry client for pulls: ping (scheme and challenge discovery), authenticated requests with a
// retry on 401, manifests capped and hashed, blobs streamed through the digest verifier with Range resume.
import { finished, pipeline, Readable } from 'node:stream';
import { type Digest, DigestVerifier, readCapped } from '../digest/index.js';
import { type ErrorCode, TrustpinError } from '../errors/index.js';
import { MANIFEST_ACCEPT } from '../manifest/index.js';
import { apiHost } from '../reference/index.js';
import { Lru } from '../util/index.js';
import { Authenticator } from './auth.js';
import { parseChallenges } from './challenge.js';
import { lookupCredential } from './credentials.js';
import {
  abortedError,
  backoffMs,
  errorBody,
  Http,
  type HttpResponse,
  header,
  headerAll,
  networkError,
  sleep,
} from './http.js';
import { type HostConfig, hostConfig, type RegistryOptions } from './options.js';
import { type Flight, type HostState, join, ping } from './ping.js';

export interface ManifestResponse {
  bytes: Buffer;
  contentType: string | undefined;
  /** the registry's claim; a hint only, never trusted */
  headerDigest: string | undefined;
}

/** What every network call of the client takes. */
export interface CallOptions {
  /** aborts this call (and, with the client's own `signal`, whichever comes first): it rejects with ABORTED */
  signal?: AbortSignal | undefined;
}

export interface RequestOptions extends CallOptions {
  /**
   * `'https'`: this host is spoken to over HTTPS only, never over plain HTTP, even where the host would allow it
   * (loopback, `insecureRegistries`). A notary server named `https://…` is reached this way.
   */
  scheme?: 'https';
  /** statuses retried (default: the HTTP layer's 429 and 5xx) */
  retryStatuses?: ReadonlySet<number> | undefined;
}

export interface BlobOptions extends CallOptions {
  /** what the blob is, for messages (`config`, `layer 3`) */
  what?: string;
  /** internal: see {@link CALLER_VERIFIES} */
  [CALLER_VERIFIES]?: true;
}

/**
 * Internal — the caller verifies before any use. Set in a blob call's options (`{ [CALLER_VERIFIES]: true }`),
 * the stream is the registry's body, resumed with `Range` and size-capped (it never yields more than the
 * descriptor's size, a larger Content-Length is refused, a short body errors with SIZE_MISMATCH) but **not
 * hashed**: nothing read from it is trustworthy until the caller has proven its digest. `pull` uses it to write
 * the bytes to a temp file unhashed and prove the file on a worker thread, before anything decompresses it. The
 * symbol is exported from this folder's face for `pull` only and not from the package's (`trustpin`), so a
 * library user cannot ask for an unverified blob.
 */
export const CALLER_VERIFIES: unique symbol = Symbol('trustpin.callerVerifies');

/** Errors of a connection that broke mid-body: the request can be made again. */
const BODY_RESET = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

/** Hosts whose ping result (scheme, challenges) and configuration are remembered at once. */
export const MAX_HOSTS = 256;

/** The registry client: scheme discovery, token auth, capped and hashed manifests, verified blob streams. */
export class RegistryClient {
  readonly http: Http;
  private readonly auth: Authenticator;
  private readonly hosts = new Lru<string, Flight>(MAX_HOSTS);
  private readonly configs = new Lru<string, HostConfig>(MAX_HOSTS);

  constructor(readonly opts: RegistryOptions = {}) {
    this.http = new Http(opts, (h) => this.config(h));
    const env = opts.env ?? process.env;
    const given = opts.credentials;
    this.auth = new Authenticator(
      this.http,
      typeof given === 'function'
        ? given
        : (h) =>
            lookupCredential(h, {
              env,
              ...(given ? { static: given } : {}),
              ...(opts.authFile !== undefined ? { authFile: opts.authFile } : {}),
            }),
      (h) => this.config(h).insecure,
      opts.now ?? Date.now,
    );
  }

  config(host: string): HostConfig {
    let c = this.configs.get(host);
    if (!c) {
      c = hostConfig(host, this.opts);
      this.configs.set(host, c);
    }
    return c;
  }

  /** Authenticate to `host` with the credentials stored for `as` (docker logs in to notary with the registry's). */
  useCredentialsOf(host: string, as: string): void {
    this.auth.credentialAliases.set(host, as);
  }

  /** How many hosts and tokens are remembered now (bounded by MAX_HOSTS and MAX_TOKENS). */
  get cacheSizes(): { hosts: number; tokens: number } {
    return { hosts: this.hosts.size, tokens: this.auth.tokens.size };
  }

  close(): Promise<void> {
    for (const f of this.hosts.values()) if (!f.settled) f.controller.abort();
    return this.http.close();
  }

  /** `/v2/` ping: finds the scheme (HTTPS first; plain HTTP only for insecure hosts) and the auth challenge. */
  private state(registry: string, o: RequestOptions): Promise<HostState> {
    const host = apiHost(registry);
    // an HTTPS-only caller must not inherit a plain-HTTP decision made for the same host by another caller
    const key = o.scheme === 'https' ? `https://${host}` : host;
    let f = this.hosts.get(key);
    if (!f) {
      const controller = new AbortController();
      const flight: Flight = {
        controller,
        waiting: 0,
        settled: false,
        state: ping(this.http, this.config(host), o.scheme, controller.signal),
      };
      flight.state.then(
        () => {
          flight.settled = true;
        },
        () => {
          flight.settled = true;
          if (this.hosts.peek(key) === flight) this.hosts.delete(key);
        },
      );
      this.hosts.set(key, flight);
      f = flight;
    }
    return join(f, o.signal, `${host}/v2/`);
  }

  /** An authenticated request to `/v2/<repo>/<path>`, retried once with a fresh token after a 401. */
  async request(
    registry: string,
    repo: string,
    method: 'GET' | 'HEAD',
    path: string,
    headers: Record<string, string> = {},
    o: RequestOptions = {},
  ): Promise<HttpResponse> {
    const st = await this.state(registry, o);
    const host = apiHost(registry);
    const signal = o.signal;
    const scope = `repository:${repo}:pull`;
    const url = `${st.base}/v2/${repo}/${path}`;
    let challenges = st.challenges;
    for (let attempt = 0; ; attempt++) {
      const auth =
        this.auth.cached(host, scope) ??
        (challenges.length ? await this.auth.authorize(host, scope, challenges, signal) : undefined);
      const res = await this.http.send(
        { method, url, headers, signal, retryStatuses: o.retryStatuses },
        auth,
      );
      if (res.status !== 401 || attempt > 0) return res;
      await res.body.dump().catch(() => undefined);
      const fresh = parseChallenges(headerAll(res.headers, 'www-authenticate'));
      if (fresh.length === 0) return res;
      challenges = fresh;
      this.auth.invalidate(host, scope);
    }
  }

  async getManifest(
    registry: string,
    repo: string,
    ref: string,
    cap: number,
    o: CallOptions = {},
  ): Promise<ManifestResponse> {
    const attempts = Math.max(1, this.opts.attempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      const res = await this.request(
        registry,
        repo,
        'GET',
        `manifests/${ref}`,
        { accept: MANIFEST_ACCEPT },
        o,
      );
      if (res.status !== 200) throw await failure(res, registry, repo, ref, 'manifest');
      const len = Number(header(res.headers, 'content-length') ?? Number.NaN);
      if (len > cap) {
        await res.body.dump().catch(() => undefined);
        throw new TrustpinError(
          'SIZE_EXCEEDED',
          `manifest ${repo}:${ref} is ${len} bytes, over the ${cap}-byte limit`,
          {
            expected: `at most ${cap} bytes`,
            found: `${len} bytes (Content-Length)`,
            hint: 'a manifest this large is not plausible; the registry may be hostile',
          },
        );
      }
      let bytes: Buffer;
      try {
        bytes = await readCapped(res.body, cap, `manifest ${repo}:${ref}`);
      } catch (e) {
        // a connection reset mid-body is fetched again whole (a manifest is small; there is no Range for it),
        // within the same attempts as every other request; a stall (TIMEOUT) is not repeated
        const code = (e as { code?: string }).code ?? '';
        if (!(e instanceof TrustpinError) && BODY_RESET.has(code) && attempt < attempts) {
          await sleep(backoffMs(attempt, this.opts.maxBackoffMs), o.signal ? [o.signal] : []);
          continue;
        }
        // a body that stalls or breaks is an operational failure with a name, not a raw transport error
        throw e instanceof TrustpinError ? e : networkError(res.url, e);
      }
      return {
        bytes,
        contentType: header(res.headers, 'content-type'),
        headerDigest: header(res.headers, 'docker-content-digest'),
      };
    }
  }

  /** HEAD a manifest: the registry's claimed digest, without downloading (and, on Docker Hub, without a pull count). */
  async headManifest(
    registry: string,
    repo: string,
    ref: string,
    o: CallOptions = {},
  ): Promise<{ digest?: string; size?: number; contentType?: string }> {
    const res = await this.request(
      registry,
      repo,
      'HEAD',
      `manifests/${ref}`,
      { accept: MANIFEST_ACCEPT },
      o,
    );
    await res.body.dump().catch(() => undefined);
    if (res.status !== 200) throw await failure(res, registry, repo, ref, 'manifest');
    const len = header(res.headers, 'content-length');
    return {
      digest: header(res.headers, 'docker-content-digest'),
      size: len ? Number(len) : undefined,
      contentType: header(res.headers, 'content-type'),
    };
  }

  /**
   * A blob as a stream that is verified while read. A connection that breaks mid-body is resumed with
   * `Range`; the hash continues across resumes, so the whole blob is still checked end to end.
   */
  blob(registry: string, repo: string, d: { digest: Digest; size: number }, o: BlobOptions = {}): Readable {
    if (o[CALLER_VERIFIES]) return new UnhashedBody(this, registry, repo, d, o);
    const verifier = new DigestVerifier({ digest: d.digest, size: d.size, what: o.what ?? 'blob' });
    const attempts = Math.max(1, this.opts.attempts ?? 3);
    const signals = [this.opts.signal, o.signal].filter((s): s is AbortSignal => s !== undefined);
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      let have = 0;
      for (let attempt = 0; ; attempt++) {
        const res = await blobResponse(self, registry, repo, d, have, o);
        try {
          for await (const c of res.body) {
            have += (c as Buffer).length;
            yield c as Buffer;
          }
          return;
        } catch (e) {
          const aborted = signals.find((s) => s.aborted);
          if (aborted) throw abortedError(`blob ${d.digest}`, aborted);
          const code = (e as { code?: string }).code ?? '';
          const resumable = ['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'].includes(code);
          if (!resumable || attempt >= attempts - 1 || have >= d.size) {
            throw e instanceof TrustpinError ? e : networkError(`blob ${d.digest}`, e);
          }
        }
      }
    }
    // pipeline, not pipe: a verifier that fails (or a consumer that stops) tears the response down too,
    // so no connection is left half-read
    const out = pipeline(Readable.from(chunks()), verifier, () => undefined);
    // a consumer that is not reading would never see the abort inside chunks(): fail the stream itself
    const onAbort = (ev: Event) => out.destroy(abortedError(`blob ${d.digest}`, ev.target as AbortSignal));
    const early = signals.find((s) => s.aborted);
    if (early) {
      process.nextTick(() => out.destroy(abortedError(`blob ${d.digest}`, early)));
    } else if (signals.length) {
      for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
      finished(out, () => {
        for (const s of signals) s.removeEventListener('abort', onAbort);
      });
    }
    return out;
  }
}

async function failure(
  res: HttpResponse,
  registry: string,
  repo: string,
  ref: string,
  kind: 'manifest' | 'blob',
): Promise<TrustpinError> {
  const e = await errorBody(res);
  const where = `${registry}/${repo}${ref.includes(':') ? '@' : ':'}${ref}`;
  let code: ErrorCode = 'REGISTRY_ERROR';
  let hint: string | undefined;
  if (res.status === 401) {
    code = 'AUTH_REQUIRED';
    hint = `log in with \`docker login ${registry}\`, or check the credentials in your docker config`;
  } else if (res.status === 403) {
    code = 'AUTH_DENIED';
    hint = 'the credentials were accepted but do not grant pull on this repository';
  } else if (res.status === 404) {
    code =
      e.code === 'NAME_UNKNOWN' ? 'NAME_UNKNOWN' : kind === 'manifest' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN';
    hint =
      kind === 'manifest'
        ? `check the repository name and tag (\`trustpin tags ${registry}/${repo}\` lists its tags)`
        : undefined;
  } else if (res.status === 429) {
    code = 'RATE_LIMITED';
    hint = 'the registry is rate limiting this client; log in or wait';
  }
  return new TrustpinError(
    code,
    `${kind} ${where}: ${res.status}${e.code ? ` ${e.code}` : ''}${e.message ? ` (${e.message})` : ''}`,
    {
      found: `HTTP ${res.status}`,
      hint,
    },
  );
}

/** One attempt at a blob: the request (`Range` from `have`), its status and its Content-Length checked. */
async function blobResponse(
  client: RegistryClient,
  registry: string,
  repo: string,
  d: { digest: Digest; size: number },
  have: number,
  o: BlobOptions,
): Promise<HttpResponse> {
  const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  const res = await client.request(registry, repo, 'GET', `blobs/${d.digest}`, headers, o);
  if (have > 0 && res.status === 200) {
    // The server ignored Range: the stream cannot be restarted under the verifier, so fail clearly.
    await res.body.dump().catch(() => undefined);
    throw new TrustpinError(
      'NETWORK_ERROR',
      `blob ${d.digest} broke off at byte ${have} and the registry does not support resuming`,
      {
        hint: 'retry the command',
      },
    );
  }
  if (res.status !== 200 && res.status !== 206) throw await failure(res, registry, repo, d.digest, 'blob');
  const len = Number(header(res.headers, 'content-length') ?? Number.NaN);
  if (len > d.size - have) {
    await res.body.dump().catch(() => undefined);
    throw new TrustpinError(
      'SIZE_EXCEEDED',
      `blob ${d.digest} is served with ${len} bytes, more than its descriptor says`,
      {
        expected: `${d.size - have} bytes`,
        found: `${len} bytes (Content-Length)`,
        hint: 'the registry is serving other content; nothing was used',
      },
    );
  }
  return res;
}

/**
 * The {@link CALLER_VERIFIES} stream: the registry's body handed on chunk by chunk (no async generator, no
 * `Readable.from`, no Transform: a pull's main thread moves every byte of every layer), never more than the
 * descriptor's size, resumed with `Range` after a connection reset, and not hashed — the caller proves it.
 */
class UnhashedBody extends Readable {
  private body: HttpResponse['body'] | undefined;
  private have = 0;
  private attempt = 0;
  private started = false;
  private readonly attempts: number;
  private readonly signals: AbortSignal[];
  private readonly onAbort = (ev: Event) =>
    this.destroy(abortedError(`blob ${this.d.digest}`, ev.target as AbortSignal));

  constructor(
    private readonly client: RegistryClient,
    private readonly registry: string,
    private readonly repo: string,
    private readonly d: { digest: Digest; size: number },
    private readonly o: BlobOptions,
  ) {
    // a MiB in hand keeps the body flowing while the consumer's write is in flight
    super({ highWaterMark: 1024 * 1024 });
    this.attempts = Math.max(1, client.opts.attempts ?? 3);
    this.signals = [client.opts.signal, o.signal].filter((s): s is AbortSignal => s !== undefined);
    const early = this.signals.find((s) => s.aborted);
    if (early) process.nextTick(() => this.destroy(abortedError(`blob ${d.digest}`, early)));
    else for (const s of this.signals) s.addEventListener('abort', this.onAbort, { once: true });
  }

  override _read(): void {
    if (this.body) this.body.resume();
    else if (!this.started) {
      this.started = true;
      this.request();
    }
  }

  private request(): void {
    blobResponse(this.client, this.registry, this.repo, this.d, this.have, this.o).then(
      (res) => {
        if (this.destroyed) res.body.destroy();
        else this.attach(res.body);
      },
      (e: unknown) => this.destroy(e as Error),
    );
  }

  private attach(body: HttpResponse['body']): void {
    this.body = body;
    body.on('data', (c: Buffer) => {
      if (this.destroyed) return;
      this.have += c.length;
      if (this.have > this.d.size) {
        this.destroy(
          new TrustpinError(
            'SIZE_EXCEEDED',
            `${this.o.what ?? 'blob'} ${this.d.digest} is longer than its descriptor`,
            {
              expected: `${this.d.size} bytes`,
              found: `more than ${this.d.size} bytes`,
              hint: 'the source is serving other content or an endless body; nothing from it was used',
            },
          ),
        );
        return;
      }
      if (!this.push(c)) body.pause();
    });
    let ended = false;
    body.once('end', () => {
      ended = true;
      if (this.body === body) this.body = undefined;
      if (this.destroyed) return;
      if (this.have !== this.d.size) {
        this.destroy(
          new TrustpinError(
            'SIZE_MISMATCH',
            `${this.o.what ?? 'blob'} ${this.d.digest} is shorter than its descriptor`,
            {
              expected: `${this.d.size} bytes`,
              found: `${this.have} bytes`,
              hint: 'the body ended early; retry, and if it persists the source is serving other content',
            },
          ),
        );
        return;
      }
      this.push(null);
    });
    let failed = false;
    // kept for good: a body torn down later (a timer, the socket) must not throw an unhandled 'error'
    const onError = (e: unknown) => {
      if (failed) return;
      failed = true;
      body.removeAllListeners('data');
      body.removeAllListeners('end');
      if (this.body === body) this.body = undefined;
      if (this.destroyed) return;
      const aborted = this.signals.find((s) => s.aborted);
      if (aborted) return void this.destroy(abortedError(`blob ${this.d.digest}`, aborted));
      const code = (e as { code?: string }).code ?? '';
      if (BODY_RESET.has(code) && this.attempt < this.attempts - 1 && this.have < this.d.size) {
        this.attempt++;
        this.request();
        return;
      }
      this.destroy(e instanceof TrustpinError ? e : networkError(`blob ${this.d.digest}`, e));
    };
    body.on('error', onError);
    // a body closed with neither its end nor an error (torn down without a reason) must not leave this stream
    // waiting: it failed like a for-await over it would have
    body.once('close', () => {
      if (!ended && !failed)
        onError(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    for (const s of this.signals) s.removeEventListener('abort', this.onAbort);
    this.body?.destroy();
    this.body = undefined;
    cb(err);
  }
}
