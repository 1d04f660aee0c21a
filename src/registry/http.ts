// The HTTP layer over the transport: manual redirects that never carry Authorization to another host and never
// downgrade HTTPS, bounded retries with backoff, and every transport failure mapped to a named error.
import { readCapped } from '../digest/index.js';
import { type ErrorCode, TrustpinError } from '../errors/index.js';
import type { HostConfig, RegistryOptions } from './options.js';
import { ABORT_CODE, type Body, Transport } from './transport.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Body;
  url: string;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** aborts the request, its retries and its backoff; the call rejects with ABORTED */
  signal?: AbortSignal | undefined;
  /** statuses answered with a retry (default 429, 500, 502, 503, 504); the referrers probe leaves out 429 */
  retryStatuses?: ReadonlySet<number> | undefined;
  /** attempts for this request instead of the client's (the plain-HTTP probe of a loopback host: one) */
  attempts?: number | undefined;
}

const MAX_REDIRECTS = 5;
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRY_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'ETIMEDOUT']);

export function header(h: HttpResponse['headers'], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function headerAll(h: HttpResponse['headers'], name: string): string[] {
  const v = h[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export class Http {
  private readonly transport: Transport;
  constructor(
    private readonly opts: RegistryOptions,
    hostConfig: (host: string) => HostConfig,
  ) {
    this.transport = new Transport(opts.env ?? process.env, hostConfig);
  }

  async close(): Promise<void> {
    this.transport.close();
  }

  /** One request with retries and manual redirects. `auth` is sent only to the original host. */
  async send(req: HttpRequest, auth?: string): Promise<HttpResponse> {
    const attempts = Math.max(1, req.attempts ?? this.opts.attempts ?? 3);
    let last: unknown;
    // the client's default signal (a process shutting down) and the caller's (one admission request)
    const signals = [this.opts.signal, req.signal].filter((s): s is AbortSignal => s !== undefined);
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(this.backoff(i, last), signals);
      const aborted = signals.find((s) => s.aborted);
      if (aborted) throw abortedError(req.url, aborted);
      try {
        const res = await this.follow(req, auth, signals);
        if (
          (req.retryStatuses ?? RETRY_STATUS).has(res.status) &&
          i < attempts - 1 &&
          req.method !== 'POST'
        ) {
          last = res;
          await res.body.dump().catch(() => undefined);
          continue;
        }
        return res;
      } catch (e) {
        last = e;
        const code = (e as { code?: string }).code ?? '';
        if (!RETRY_CODES.has(code) || i === attempts - 1) throw networkError(req.url, e);
      }
    }
    throw networkError(req.url, last);
  }

  private backoff(i: number, last: unknown): number {
    const ra =
      last && typeof last === 'object' && 'headers' in last
        ? header((last as HttpResponse).headers, 'retry-after')
        : undefined;
    return backoffMs(i, this.opts.maxBackoffMs, ra);
  }

  private async follow(
    req: HttpRequest,
    auth: string | undefined,
    signals: AbortSignal[],
  ): Promise<HttpResponse> {
    const origin = new URL(req.url);
    let url = origin;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = {
        'user-agent': this.opts.userAgent ?? 'trustpin/0.1',
        ...req.headers,
      };
      // Credentials belong to the registry host: a redirect to storage (S3, a CDN) never sees them.
      if (auth && url.host === origin.host) headers.authorization = auth;
      const r = await this.transport.send(url, {
        method: req.method,
        headers,
        body: req.body,
        timeoutMs: this.opts.timeoutMs ?? 30_000,
        signals,
      });
      this.opts.onRequest?.(req.method, url.toString(), r.status);
      if (![301, 302, 303, 307, 308].includes(r.status)) {
        return { status: r.status, headers: r.headers, body: r.body, url: url.toString() };
      }
      await r.body.dump().catch(() => undefined);
      const loc = header(r.headers, 'location');
      if (!loc || hop >= MAX_REDIRECTS) {
        throw new TrustpinError('REDIRECT_REFUSED', `too many or empty redirects from ${req.url}`, {
          expected: `at most ${MAX_REDIRECTS} redirects with a Location`,
          found: loc ? `more than ${MAX_REDIRECTS}` : 'a redirect without Location',
        });
      }
      if (!URL.canParse(loc, url))
        throw new TrustpinError(
          'REDIRECT_REFUSED',
          `a redirect from ${req.url} to something that is not a URL`,
          {
            expected: 'a Location header holding a URL',
            found: loc.slice(0, 200),
          },
        );
      const next = new URL(loc, url);
      if (url.protocol === 'https:' && next.protocol !== 'https:') {
        throw new TrustpinError('REDIRECT_REFUSED', `refusing a redirect from HTTPS to ${next.protocol}`, {
          expected: 'https',
          found: next.toString(),
          hint: 'a registry must not downgrade a download to plain HTTP',
        });
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new TrustpinError('REDIRECT_REFUSED', `refusing a redirect to ${next.protocol}`);
      }
      url = next;
    }
  }
}

export function networkError(url: string, e: unknown): TrustpinError {
  if (e instanceof TrustpinError) return e;
  if (e && typeof e === 'object' && 'status' in e) {
    const r = e as HttpResponse;
    return new TrustpinError(
      r.status === 429 ? 'RATE_LIMITED' : 'REGISTRY_ERROR',
      `${url} answered ${r.status}`,
      {
        hint:
          r.status === 429
            ? 'the registry is rate limiting; log in or wait'
            : 'the registry is failing; retry later',
      },
    );
  }
  const err = e as { code?: string; message?: string; cause?: unknown };
  const code = err.code ?? '';
  if (code === ABORT_CODE) return abortedError(url, { reason: err.cause });
  if (
    code.startsWith('UND_ERR_HEADERS_TIMEOUT') ||
    code.startsWith('UND_ERR_BODY_TIMEOUT') ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new TrustpinError('TIMEOUT', `${url}: ${err.message || 'no response in time'} (${code})`, {
      hint: 'the server stalled; check the host, or raise option timeoutMs',
      cause: e,
    });
  }
  if (code === 'PROXY_AUTH_REQUIRED' || code === 'PROXY_REFUSED') {
    return new TrustpinError('NETWORK_ERROR', `${url}: ${err.message}`, {
      hint:
        code === 'PROXY_AUTH_REQUIRED'
          ? 'the proxy wants credentials: put them in the proxy URL, HTTPS_PROXY=http://USER:PASS@HOST:PORT (percent-encoded), or add the registry to NO_PROXY'
          : 'the proxy would not open a tunnel to the registry; check the proxy, or add the registry to NO_PROXY',
      cause: e,
    });
  }
  if (/CERT|SSL|TLS|self.signed|unable to (get|verify)/i.test(`${code} ${err.message}`)) {
    return new TrustpinError('TLS_ERROR', `${url}: TLS verification failed (${err.message ?? code})`, {
      hint: 'put the registry CA in /etc/docker/certs.d/<host>/ca.crt (or $TRUSTPIN_CERTS_D), or mark the host insecure (option insecureRegistries)',
      cause: e,
    });
  }
  return new TrustpinError('NETWORK_ERROR', `${url}: ${err.message ?? String(e)}`, {
    hint: 'check that the registry is reachable (proxy settings are read from HTTPS_PROXY/HTTP_PROXY/NO_PROXY)',
    cause: e,
  });
}

/** Read an error body with a cap; registries put JSON `{errors:[{code,message}]}` there. */
export async function errorBody(res: HttpResponse): Promise<{ code?: string; message?: string }> {
  try {
    const b = await readCapped(res.body, 1024 * 1024, 'error body');
    const j = JSON.parse(b.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    return j.errors?.[0] ?? {};
  } catch {
    return {};
  }
}

/**
 * A failed answer of a list endpoint (tags, referrers): its code (401 AUTH_REQUIRED, 403 AUTH_DENIED, 429
 * RATE_LIMITED, otherwise REGISTRY_ERROR) and `detail`, the status with the registry's own error code and message.
 */
export async function failedAnswer(res: HttpResponse): Promise<{ code: ErrorCode; detail: string }> {
  const e = await errorBody(res);
  const code =
    res.status === 401
      ? 'AUTH_REQUIRED'
      : res.status === 403
        ? 'AUTH_DENIED'
        : res.status === 429
          ? 'RATE_LIMITED'
          : 'REGISTRY_ERROR';
  return { code, detail: `${res.status}${e.code ? ` ${e.code}` : ''}${e.message ? ` (${e.message})` : ''}` };
}

/** The error every aborted call rejects with, whatever it was doing (connecting, waiting, reading, backing off). */
export function abortedError(what: string, signal: { reason?: unknown }): TrustpinError {
  // a reason the caller gave says why; the default one (an AbortError) only repeats "aborted"
  const r = signal.reason;
  const why = r instanceof Error && r.name !== 'AbortError' ? `: ${r.message}` : '';
  return new TrustpinError('ABORTED', `${what}: aborted${why}`, { cause: signal.reason });
}

/**
 * The wait before retry `i` (1-based): 200 ms doubling, or the server's `Retry-After` seconds, never more than
 * `maxBackoffMs` (default 10 s). Every retry in the registry client waits this long.
 */
export function backoffMs(i: number, maxBackoffMs: number | undefined, retryAfter?: string): number {
  const cap = maxBackoffMs ?? 10_000;
  if (retryAfter && /^\d+$/.test(retryAfter)) return Math.min(cap, Number(retryAfter) * 1000);
  return Math.min(cap, 200 * 2 ** (i - 1));
}

/** Wait `ms`, ending early (resolving, not rejecting) when any of `signals` aborts; the caller checks them. */
export function sleep(ms: number, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    if (signals.some((s) => s.aborted)) return resolve();
    // resolve early on abort: the caller checks the signals right after and throws ABORTED
    const done = () => {
      clearTimeout(t);
      for (const s of signals) s.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    for (const s of signals) s.addEventListener('abort', done, { once: true });
  });
}
