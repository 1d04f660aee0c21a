// The verifying registry mirror: a read-only distribution endpoint that answers a tag only with the digest the
// policy accepted and serves manifests and blobs only by digest, after hashing them. Everything else is refused.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { type Digest, DigestVerifier } from '../digest/index.js';
import { isTrustpinError, TrustpinError } from '../errors/index.js';
import { type Policy, preloadVerifiers } from '../policy/index.js';
import type { RegistryOptions } from '../registry/index.js';
import { Limiter } from '../util/index.js';
import { ContentCache } from './cache.js';
import { type Decision, Judge } from './judge.js';
import { PolicyHolder } from './policy-file.js';
import { type ContentRoute, parseRoute } from './route.js';
import { pumpVerified } from './stream.js';
import { parseUpstream, type Upstream, UpstreamClient } from './upstream.js';

/** How long a digest's verdict is reused by default (ms). */
export const DEFAULT_VERDICT_TTL_MS = 300_000;
/** How long a tag's answer is reused by default (ms): Docker Hub counts manifest GETs. */
export const DEFAULT_TAG_TTL_MS = 30_000;
/**
 * Upstream work at once by default: evaluations and manifest fetches share one limit, blob streams have their own
 * (a slow client holding a layer open must not stall decisions).
 */
export const DEFAULT_UPSTREAM_CONCURRENCY = 16;
/** Client connections at once; more are refused by the socket layer. */
export const MAX_CONNECTIONS = 1024;

/** Options of {@link createMirrorServer}. */
export interface MirrorOptions {
  /**
   * a policy file (re-read when it changes; it must load at the start, and while it later does not load every
   * request is 503) or a loaded policy
   */
  policy: string | Policy;
  /** `HOST:PORT` (default `127.0.0.1:0`, a free port) */
  listen?: string | undefined;
  /** where origins are reached: `HOST=URL` strings or parsed entries */
  upstreams?: readonly (string | Upstream)[] | undefined;
  /** keep verified manifests and blobs here, content-addressed */
  cacheDir?: string | undefined;
  /** options of the one registry client used for every upstream call (credentials, TLS, timeouts) */
  registry?: RegistryOptions | undefined;
  /** the origin of a request that names none (no `?ns=`, no host prefix): default `docker.io`, as dockerd */
  defaultOrigin?: string | undefined;
  verdictTtlMs?: number | undefined;
  tagTtlMs?: number | undefined;
  upstreamConcurrency?: number | undefined;
  /** serve HTTPS with this certificate and key (PEM) */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** one line per request (default: JSON to stderr) */
  log?: ((line: MirrorLogLine) => void) | undefined;
  now?: (() => number) | undefined;
  /** DCT trust store directory, as for `evaluate` */
  home?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/** What is logged for each request. */
export interface MirrorLogLine {
  time: string;
  method: string;
  path: string;
  origin?: string | undefined;
  status: number;
  ms: number;
  /** pass, fail, error, missing (a policy decision); known (content of an accepted image); refused; served */
  decision: string;
  digest?: string | undefined;
  rule?: string | undefined;
  codes?: string[] | undefined;
  message?: string | undefined;
  /** where a blob came from */
  from?: 'cache' | 'upstream' | undefined;
}

/** A running (or ready) mirror. */
export interface MirrorServer {
  /** start listening; resolves with the base URL (`http://127.0.0.1:PORT`) */
  listen(): Promise<string>;
  /** stop accepting, let requests in flight finish (10 s at most), close upstream connections */
  close(): Promise<void>;
  /** the base URL once listening */
  readonly url: string;
  /** the request handler, to mount in another server */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

const API_VERSION = { 'Docker-Distribution-API-Version': 'registry/2.0' };
const STATUS: Record<Decision['status'], number> = { pass: 200, fail: 403, error: 503, missing: 404 };
const CODE: Record<Decision['status'], string> = {
  pass: '',
  fail: 'DENIED',
  error: 'UNAVAILABLE',
  missing: 'MANIFEST_UNKNOWN',
};

/** Build the verifying mirror (not yet listening). */
export function createMirrorServer(o: MirrorOptions): MirrorServer {
  const log = o.log ?? ((l: MirrorLogLine) => process.stderr.write(`${JSON.stringify(l)}\n`));
  const now = o.now ?? Date.now;
  const shutdown = new AbortController();
  const upstreams = (o.upstreams ?? []).map((u) => (typeof u === 'string' ? parseUpstream(u) : u));
  const client = new UpstreamClient(upstreams, { ...o.registry, signal: shutdown.signal });
  const cache = o.cacheDir ? new ContentCache(o.cacheDir) : undefined;
  const limiter = new Limiter(o.upstreamConcurrency ?? DEFAULT_UPSTREAM_CONCURRENCY);
  const blobLimiter = new Limiter(o.upstreamConcurrency ?? DEFAULT_UPSTREAM_CONCURRENCY);
  const judge = new Judge({
    client,
    limiter,
    cache,
    verdictTtlMs: o.verdictTtlMs ?? DEFAULT_VERDICT_TTL_MS,
    tagTtlMs: o.tagTtlMs ?? DEFAULT_TAG_TTL_MS,
    now,
    home: o.home,
    env: o.env,
  });
  const policies = new PolicyHolder(o.policy, (p, e) =>
    log({
      time: new Date(now()).toISOString(),
      method: '-',
      path: typeof o.policy === 'string' ? o.policy : '-',
      status: p ? 200 : 503,
      ms: 0,
      decision: p ? 'policy-loaded' : 'policy-invalid',
      ...(p ? { digest: p.digest } : { codes: [e?.code ?? 'TRUST_POLICY_INVALID'], message: e?.message }),
    }),
  );
  const defaultOrigin = o.defaultOrigin ?? 'docker.io';

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now();
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const line: Partial<MirrorLogLine> = {};
    res.on('close', () => {
      log({
        time: new Date(now()).toISOString(),
        method,
        path: target.slice(0, 512),
        status: res.statusCode,
        ms: Math.round(performance.now() - t0),
        decision: 'served',
        ...line,
        ...(res.writableFinished ? {} : { message: line.message ?? 'the response was cut' }),
      });
    });
    serve(res, method, target, line).catch((e) => {
      line.decision = 'error';
      line.message = e instanceof Error ? e.message : String(e);
      if (!res.headersSent) errorResponse(res, method, 500, 'UNKNOWN', `trustpin: ${line.message}`);
      else res.destroy();
    });
  };

  async function serve(
    res: ServerResponse,
    method: string,
    target: string,
    line: Partial<MirrorLogLine>,
  ): Promise<void> {
    const route = parseRoute(method, target, defaultOrigin);
    if (route.kind === 'refused') {
      line.decision = 'refused';
      line.codes = [route.code];
      return errorResponse(res, method, route.status, route.code, `trustpin: ${route.message}`);
    }
    if (route.kind === 'ping') {
      res.writeHead(200, { ...API_VERSION, 'Content-Type': 'application/json', 'Content-Length': 2 });
      return void res.end(method === 'HEAD' ? undefined : '{}');
    }
    line.origin = route.origin;
    let policy: Policy;
    try {
      policy = policies.current();
    } catch (e) {
      line.decision = 'error';
      line.codes = [isTrustpinError(e) ? e.code : 'TRUST_POLICY_INVALID'];
      return errorResponse(
        res,
        method,
        503,
        'UNAVAILABLE',
        `trustpin: the policy does not load: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (route.kind === 'manifest') return serveManifest(res, method, route, policy, line);
    return serveBlob(res, method, route, policy, line);
  }

  async function refuse(
    res: ServerResponse,
    method: string,
    d: Decision,
    line: Partial<MirrorLogLine>,
  ): Promise<void> {
    Object.assign(line, { decision: d.status, rule: d.rule, codes: d.codes, message: d.message });
    errorResponse(res, method, STATUS[d.status], CODE[d.status], d.message);
  }

  async function serveManifest(
    res: ServerResponse,
    method: string,
    r: ContentRoute,
    policy: Policy,
    line: Partial<MirrorLogLine>,
  ): Promise<void> {
    let digest: Digest;
    if (r.ref.tag !== undefined) {
      const d = await judge.decide(policy, r.origin, r.repository, r.ref);
      if (d.status !== 'pass') return refuse(res, method, d, line);
      Object.assign(line, { decision: 'pass', rule: d.rule, codes: d.codes });
      digest = d.digest!;
    } else {
      digest = r.ref.digest;
      line.decision = 'known';
    }
    let known = await judge.accepted(policy, r.origin, r.repository, digest);
    if (!known) {
      // not (or no longer remembered as) content of an accepted image: the digest itself is judged
      const d = await judge.decide(policy, r.origin, r.repository, { digest });
      if (d.status !== 'pass') return refuse(res, method, d, line);
      Object.assign(line, { decision: 'pass', rule: d.rule, codes: d.codes });
      known = await judge.accepted(policy, r.origin, r.repository, digest);
    }
    line.digest = digest;
    if (known?.kind !== 'manifest')
      return refuse(
        res,
        method,
        denied(`${r.origin}/${r.repository}@${digest}`, 'is not a manifest of an accepted image'),
        line,
      );
    let m: { bytes: Buffer; mediaType: string };
    try {
      m = await judge.manifest(r.origin, r.repository, digest, known);
    } catch (e) {
      return refuse(res, method, upstreamFailure(`${r.origin}/${r.repository}@${digest}`, e), line);
    }
    res.writeHead(200, {
      ...API_VERSION,
      'Content-Type': m.mediaType,
      'Content-Length': m.bytes.length,
      'Docker-Content-Digest': digest,
    });
    res.end(method === 'HEAD' ? undefined : m.bytes);
  }

  async function serveBlob(
    res: ServerResponse,
    method: string,
    r: ContentRoute,
    policy: Policy,
    line: Partial<MirrorLogLine>,
  ): Promise<void> {
    const digest = r.ref.digest as Digest;
    const name = `${r.origin}/${r.repository}@${digest}`;
    line.digest = digest;
    const known = await judge.accepted(policy, r.origin, r.repository, digest);
    if (!known) return refuse(res, method, denied(name, 'is not part of an image the policy accepted'), line);
    line.decision = 'known';
    const headers = {
      ...API_VERSION,
      'Content-Type': 'application/octet-stream',
      'Content-Length': known.size,
      'Docker-Content-Digest': digest,
    };
    if (method === 'HEAD') {
      res.writeHead(200, headers);
      return void res.end();
    }
    const expect = { digest, size: known.size, what: known.kind === 'blob' ? 'blob' : 'manifest' };
    const start = () => res.writeHead(200, headers);
    if (cache && (await cache.size(digest)) === known.size) {
      line.from = 'cache';
      const verified = pipeline(
        cache.stream(digest),
        new DigestVerifier(expect),
        () => undefined,
      ) as Readable;
      const out = await pumpVerified(verified, res, start);
      // a file that no longer hashes to its name is dropped (a client that went away drops nothing)
      if (!out.ok && isTrustpinError(out.error)) {
        await cache.drop(digest);
        line.message = `cache file of ${digest} no longer matches: dropped`;
        if (!out.started) errorResponse(res, method, 503, 'UNAVAILABLE', `trustpin: ${line.message}`);
      }
      return;
    }
    line.from = 'upstream';
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    await blobLimiter.run(async () => {
      const body = client.blob(r.origin, r.repository, { digest, size: known.size }, { signal: gone.signal });
      const sink = cache ? await cache.begin(digest).catch(() => undefined) : undefined;
      const out = await pumpVerified(body, res, start, sink);
      if (!out.ok) {
        const d = upstreamFailure(name, out.error);
        Object.assign(line, { codes: d.codes, message: d.message });
        if (!out.started)
          errorResponse(
            res,
            method,
            d.status === 'missing' ? 404 : 502,
            d.status === 'missing' ? 'BLOB_UNKNOWN' : CODE.error,
            d.message,
          );
      }
    });
  }

  let server: Server | undefined;
  let url = '';
  const mirror: MirrorServer = {
    handler,
    get url() {
      return url;
    },
    async listen() {
      // ready means ready: the first pull does not load the Sigstore or Notation libraries while containerd waits
      // (a policy that does not load now is reported by the requests, as it is when a reload breaks it)
      const loaded = (() => {
        try {
          return policies.current();
        } catch {
          return undefined;
        }
      })();
      if (loaded) await preloadVerifiers(loaded);
      const { host, port } = parseListen(o.listen ?? '127.0.0.1:0');
      const s = o.tls
        ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key }, handler)
        : createHttpServer(handler);
      s.maxHeadersCount = 100;
      s.maxConnections = MAX_CONNECTIONS;
      s.headersTimeout = 30_000;
      server = s as Server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      const a = s.address() as AddressInfo;
      const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      url = `${o.tls ? 'https' : 'http'}://${shown}:${a.port}`;
      return url;
    },
    async close() {
      const s = server;
      if (s) {
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeIdleConnections();
        const timer = setTimeout(() => s.closeAllConnections(), 10_000);
        await closed;
        clearTimeout(timer);
      }
      shutdown.abort();
      await client.close();
    },
  };
  return mirror;
}

function denied(name: string, why: string): Decision {
  return { status: 'fail', name, codes: ['DENIED'], message: `trustpin: ${name} ${why}` };
}

function upstreamFailure(name: string, e: unknown): Decision {
  const code = isTrustpinError(e) ? e.code : 'NETWORK_ERROR';
  const missing = ['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_UNKNOWN', 'NOT_FOUND'].includes(code);
  const message = `trustpin: ${name}: ${e instanceof Error ? e.message : String(e)}`;
  return { status: missing ? 'missing' : 'error', name, codes: [code], message };
}

/** An OCI error answer (no body for HEAD). */
function errorResponse(
  res: ServerResponse,
  method: string,
  status: number,
  code: string,
  message: string,
): void {
  const body = JSON.stringify({ errors: [{ code, message }] });
  res.writeHead(status, {
    ...API_VERSION,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(method === 'HEAD' ? undefined : body);
}

/** `HOST:PORT`, `[::]:PORT` or `:PORT`. */
export function parseListen(addr: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new TrustpinError('USAGE', `--listen ${JSON.stringify(addr)} is not HOST:PORT`, {
      expected: 'HOST:PORT, e.g. 0.0.0.0:5000, 127.0.0.1:5000 or [::]:5000',
      found: addr,
    });
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
