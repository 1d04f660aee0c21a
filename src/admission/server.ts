// The admission webhook as a server: POST /validate and /mutate (AdmissionReview v1), GET /healthz, /readyz and
// /metrics (Prometheus text). Stateless — the only state is a cache of verdicts — so replicas behind a Service give
// the same answers. The policy and the TLS certificate are reloaded when their files change (a ConfigMap or Secret
// update swaps them); a file that no longer loads is logged and the last good one kept.
import { readFileSync, statSync } from 'node:fs';
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { isTrustpinError, TrustpinError } from '../errors/index.js';
import { evaluate, loadPolicy, type Policy, preloadVerifiers } from '../policy/index.js';
import { RegistryClient } from '../registry/index.js';
import { admit, budgetOf } from './admit.js';
import { VerdictCache, type VerdictCacheOptions } from './cache.js';
import { Metrics } from './metrics.js';
import { type AdmissionRequest, MAX_ADMISSION_BODY_BYTES, parseAdmissionReview } from './review.js';

/** Options of {@link WebhookServer}. */
export interface WebhookServerOptions {
  policyFile: string;
  /** PEM files; both, or `insecureHttp` */
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  /** plain HTTP (tests, or behind a TLS-terminating sidecar) */
  insecureHttp?: boolean | undefined;
  client?: RegistryClient | undefined;
  cache?: VerdictCacheOptions | undefined;
  /** DCT trust store directory for the policy's DCT roots (as `evaluate`) */
  home?: string | undefined;
  /** one JSON object per request and per reload (default: a JSON line on stderr) */
  log?: ((entry: Record<string, unknown>) => void) | undefined;
  /** how often the policy and certificate files are checked for changes (default 2 s) */
  reloadIntervalMs?: number | undefined;
}

interface Watched {
  path: string;
  stamp: string;
}

const stampOf = (path: string): string => {
  const st = statSync(path);
  return `${st.mtimeMs}:${st.size}:${st.ino}`;
};

/** A running admission webhook. */
export class WebhookServer {
  private policy: Policy;
  private readonly cache: VerdictCache;
  private readonly client: RegistryClient;
  private readonly metrics = new Metrics();
  private readonly server: Server | HttpsServer;
  private readonly watched: Watched[];
  private readonly log: (entry: Record<string, unknown>) => void;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;

  /** Loads the policy and the certificate now. @throws TrustpinError TRUST_POLICY_INVALID, USAGE, IO_ERROR */
  constructor(private readonly o: WebhookServerOptions) {
    this.log =
      o.log ?? ((e) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`));
    this.policy = loadPolicy(o.policyFile);
    this.client = o.client ?? new RegistryClient();
    this.cache = new VerdictCache(
      async (policy, ref) =>
        (await evaluate(policy, [ref], { client: this.client, home: o.home })).verdicts[0]!,
      o.cache,
    );
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((e: unknown) => {
        this.log({ level: 'error', msg: 'handler failed', error: String(e) });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":"internal"}');
      });
    };
    if (o.insecureHttp) this.server = createHttp(handler);
    else {
      if (!o.tlsCert || !o.tlsKey)
        throw new TrustpinError('USAGE', 'the webhook needs a TLS certificate and key', {
          expected: '--tls-cert FILE --tls-key FILE (the API server only calls webhooks over HTTPS)',
          hint: 'deploy/kubernetes/certificate.yaml issues one with cert-manager; --insecure-http only behind a TLS proxy',
        });
      this.server = createHttps({ cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey) }, handler);
    }
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 35_000;
    // keep idle connections longer than clients do (Go's transport, the API server's, closes after 90 s), so a
    // client never sends a review on a connection the server is closing at that moment ("socket hang up")
    this.server.keepAliveTimeout = 120_000;
    this.watched = [o.policyFile, ...(o.insecureHttp ? [] : [o.tlsCert!, o.tlsKey!])].map((path) => ({
      path,
      stamp: stampOf(path),
    }));
  }

  /** Listen; resolves with the address (port 0 picks a free one). */
  async listen(port: number, host = '0.0.0.0'): Promise<{ url: string; port: number }> {
    // ready means ready: the first review does not load the Sigstore or Notation libraries inside its deadline
    await preloadVerifiers(this.policy);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const a = this.server.address() as AddressInfo;
    this.timer = setInterval(() => this.reload(), this.o.reloadIntervalMs ?? 2000);
    this.timer.unref();
    const scheme = this.o.insecureHttp ? 'http' : 'https';
    const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    this.log({
      level: 'info',
      msg: 'listening',
      url: `${scheme}://${shown}:${a.port}`,
      policy: this.policy.source,
    });
    return { url: `${scheme}://${shown}:${a.port}`, port: a.port };
  }

  /** Stop taking requests, let the ones in flight finish, then close the registry client if it made it. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeIdleConnections();
    });
    // a client the caller passed in is the caller's to close
    if (!this.o.client) await this.client.close();
  }

  /** Check the watched files; reload what changed (a file that fails to load keeps the last good one). */
  reload(): void {
    const changed = this.watched.filter((w) => {
      try {
        const s = stampOf(w.path);
        if (s === w.stamp) return false;
        w.stamp = s;
        return true;
      } catch {
        return false;
      }
    });
    if (!changed.length) return;
    for (const w of changed) {
      try {
        if (w.path === this.o.policyFile) {
          this.policy = loadPolicy(w.path);
          void preloadVerifiers(this.policy);
          this.log({ level: 'info', msg: 'policy reloaded', policy: w.path, digest: this.policy.digest });
        } else {
          // only a TLS server watches its certificate and key
          (this.server as HttpsServer).setSecureContext({
            cert: readFileSync(this.o.tlsCert!),
            key: readFileSync(this.o.tlsKey!),
          });
          this.log({ level: 'info', msg: 'certificate reloaded', file: w.path });
        }
      } catch (e) {
        this.metrics.inc('trustpin_reload_failures_total', {});
        this.log({
          level: 'error',
          msg: 'reload failed; keeping the last good one',
          file: w.path,
          error: String(e),
        });
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://webhook');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/healthz') return text(res, 200, 'ok\n');
    if (req.method === 'GET' && path === '/readyz')
      return this.closing ? text(res, 503, 'shutting down\n') : text(res, 200, 'ready\n');
    if (req.method === 'GET' && path === '/metrics') {
      const s = this.cache.stats;
      return text(
        res,
        200,
        this.metrics.render({
          trustpin_verdict_cache_hits_total: s.hits,
          trustpin_verdict_cache_misses_total: s.misses,
          trustpin_verdict_cache_shared_total: s.shared,
          trustpin_verdict_cache_entries: s.size,
        }),
        'text/plain; version=0.0.4',
      );
    }
    if (req.method !== 'POST' || (path !== '/validate' && path !== '/mutate'))
      return text(res, 404, 'not found\n');
    const endpoint = path.slice(1);
    const started = performance.now();
    let body: Buffer;
    try {
      body = await readBody(req, MAX_ADMISSION_BODY_BYTES);
    } catch (e) {
      return json(res, 413, { error: (e as Error).message });
    }
    let review: AdmissionRequest;
    try {
      review = parseAdmissionReview(body);
    } catch (e) {
      if (!isTrustpinError(e)) throw e;
      this.metrics.inc('trustpin_admission_invalid_total', { endpoint });
      this.log({ level: 'warn', msg: 'invalid AdmissionReview', endpoint, error: e.message });
      return json(res, 400, { error: e.message, code: e.code });
    }
    const policy = this.policy;
    const d = await admit(review, {
      policy,
      judge: (ref) => this.cache.judge(policy, ref),
      mutate: endpoint === 'mutate',
      budgetMs: budgetOf(url.searchParams.get('timeout')),
    });
    const seconds = (performance.now() - started) / 1000;
    const allowed = d.review.response.allowed;
    this.metrics.inc('trustpin_admission_requests_total', { endpoint, allowed: String(allowed) });
    this.metrics.observe('trustpin_admission_duration_seconds', { endpoint }, seconds);
    for (const code of d.codes) this.metrics.inc('trustpin_admission_denials_total', { code });
    this.log({
      level: 'info',
      msg: 'admission',
      endpoint,
      uid: review.uid,
      kind: review.kind.kind,
      namespace: review.namespace,
      name: review.name,
      operation: review.operation,
      dryRun: review.dryRun,
      images: d.judged,
      allowed,
      codes: d.codes,
      noted: d.noted,
      patched: d.review.response.patch !== undefined,
      timedOut: d.timedOut,
      ms: Math.round(seconds * 1000),
    });
    return json(res, 200, d.review);
  }
}

function text(res: ServerResponse, status: number, body: string, type = 'text/plain'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  text(res, status, JSON.stringify(body), 'application/json');
}

/** The request body, at most `cap` bytes (a larger one is refused before it is all read). */
function readBody(req: IncomingMessage, cap: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > cap) {
      req.resume();
      reject(new Error(`request body of ${declared} bytes is over ${cap}`));
      return;
    }
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > cap) {
        req.destroy();
        reject(new Error(`request body over ${cap} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
