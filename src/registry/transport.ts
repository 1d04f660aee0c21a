// One HTTP exchange on node:http/https (no client library to load: start-up matters for a CLI): keep-alive agents
// per host with the host's TLS trust, proxies from HTTPS_PROXY/HTTP_PROXY/NO_PROXY (CONNECT for HTTPS), and one
// idle timeout that covers connecting, waiting for headers and a stalled body.

import { readFileSync } from 'node:fs';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import { BlockList, isIP, type Socket } from 'node:net';
import type * as Tls from 'node:tls';
import type { SecureContext } from 'node:tls';
import { TrustpinError } from '../errors/index.js';
import { isLoopbackHost } from '../reference/index.js';
import { Lru } from '../util/index.js';
import type { HostConfig } from './options.js';

const load = createRequire(import.meta.url);
let httpsModule: typeof Https | undefined;
let tlsModule: typeof Tls | undefined;
/**
 * node:https and node:tls load on the first HTTPS exchange, not with this module: requiring them cost ≈ 15 ms of
 * CPU at every start, and a call to a plain-HTTP registry (loopback, a CI service) needs neither.
 */
function httpsApi(): typeof Https {
  httpsModule ??= load('node:https') as typeof Https;
  return httpsModule;
}
function tlsApi(): typeof Tls {
  tlsModule ??= load('node:tls') as typeof Tls;
  return tlsModule;
}

/** A URL's host without IPv6 brackets. */
function bare(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** SNI names a host, never an address (RFC 6066); an address is still checked against the certificate's SANs. */
function sni(url: URL): { servername?: string } {
  return isIP(bare(url)) ? {} : { servername: bare(url) };
}

export type Body = IncomingMessage & { dump(): Promise<void> };

export interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: Body;
}

export interface SendOptions {
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
  /** any of them aborting destroys the request (and its body, once headers came): the socket is closed, not pooled */
  signals?: AbortSignal[];
}

/** Node's own code for an aborted operation; http.ts maps it to ABORTED. */
export const ABORT_CODE = 'ABORT_ERR';
/** Agents kept at once (one per scheme, host and proxy); an evicted agent's sockets close when idle. */
export const MAX_AGENTS = 256;
/** An idle keep-alive socket is closed after this long, so a long-lived client holds no stale connections. */
const IDLE_SOCKET_MS = 30_000;

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Drain a small body so the connection can be reused; give up on a large one and close it instead. */
function withDump(res: IncomingMessage): Body {
  const body = res as Body;
  body.dump = () =>
    new Promise<void>((resolve) => {
      if (res.readableEnded || res.destroyed) return resolve();
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > 256 * 1024) res.destroy();
      });
      res.on('end', () => resolve());
      res.on('close', () => resolve());
      res.on('error', () => resolve());
      res.resume();
    });
  return body;
}

interface ProxyEnv {
  http?: URL;
  https?: URL;
  noProxy: string[];
}

function proxyEnv(env: NodeJS.ProcessEnv): ProxyEnv {
  const url = (v: string | undefined) => {
    if (!v) return undefined;
    try {
      return new URL(v.includes('://') ? v : `http://${v}`);
    } catch {
      return undefined;
    }
  };
  // Go's httpproxy (docker, skopeo): the upper-case name first, an empty value counts as unset, and HTTPS
  // requests use HTTPS_PROXY only — never HTTP_PROXY
  const http = url(env.HTTP_PROXY || env.http_proxy);
  const https = url(env.HTTPS_PROXY || env.https_proxy);
  const noProxy = (env.NO_PROXY || env.no_proxy || '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return { ...(http ? { http } : {}), ...(https ? { https } : {}), noProxy };
}

/** A NO_PROXY entry `a.b.c.d/n` or `v6/n` against an address host. */
function inCidr(entry: string, host: string): boolean {
  const [net, bits] = entry.split('/');
  const family = isIP(net ?? '');
  if (!family || family !== isIP(host)) return false;
  const list = new BlockList();
  try {
    list.addSubnet(net!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false;
  }
  return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Go's rules, as docker and skopeo apply them: loopback is never proxied; `*` bypasses everything; `y.com`
 * matches y.com and its subdomains, `.y.com` (or `*.y.com`) only the subdomains; an entry may name a port; an
 * address or CIDR entry matches address hosts.
 */
function bypass(target: URL, p: ProxyEnv): boolean {
  if (isLoopbackHost(target.host)) return true;
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  return p.noProxy.some((e) => {
    if (e === '*') return true;
    if (e.includes('/')) return inCidr(e, host);
    const [name, ePort] = e.startsWith('[')
      ? [e.slice(1, e.indexOf(']')), e.split(']:')[1]]
      : isIP(e) === 6
        ? [e, undefined]
        : e.split(':');
    if (ePort && ePort !== port) return false;
    const n = (name ?? '').replace(/^\*\./, '.');
    if (n.startsWith('.')) return host.endsWith(n);
    return host === n || host.endsWith(`.${n}`);
  });
}

function proxyAuth(p: URL): Record<string, string> {
  if (!p.username) return {};
  const cred = `${decodeURIComponent(p.username)}:${decodeURIComponent(p.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/** The certificates of NODE_EXTRA_CA_CERTS (node adds them to its default store, but not to a store given CAs). */
let envCas: string | undefined;
function nodeExtraCas(): string {
  if (envCas === undefined) {
    const file = process.env.NODE_EXTRA_CA_CERTS;
    try {
      envCas = file ? readFileSync(file, 'utf8') : '';
    } catch {
      envCas = ''; // node itself warns about an unreadable file at start
    }
  }
  return envCas;
}

/**
 * The system's CAs (node's bundled roots and NODE_EXTRA_CA_CERTS, as node's default store has them) and the ones
 * given for a host, in one secure context. Passing `ca: [...rootCertificates, extra]` made node parse every root
 * (≈ 140 PEMs) for each context, 20–60 ms; `context.addCACert` adds to a copy of the bundled store instead
 * (should a node lack it, the old way is taken). Both leave out NODE_EXTRA_CA_CERTS, so its file is added too.
 */
function withExtraCa(extra: Buffer[]): SecureContext {
  const { createSecureContext, rootCertificates } = tlsApi();
  const pems = [nodeExtraCas(), ...extra.map((b) => b.toString())].filter(Boolean);
  const ctx = createSecureContext();
  const native = (ctx as { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert !== 'function')
    return createSecureContext({ ca: [...rootCertificates, ...pems] });
  for (const pem of pems) native.addCACert(pem);
  return ctx;
}

/**
 * Only the CAs given for a host: what a host with its own CA (a private notary, `certs.d/<host>/ca.crt`) is
 * tried with first, so the system's CAs — NODE_EXTRA_CA_CERTS, often a whole system bundle parsed again per
 * context — are added only when the given CA does not anchor the chain: that is retried once with them
 * ({@link ISSUER_UNKNOWN}). (Node 20 still builds its bundled root store, ≈ 18 ms, at a process's first added
 * CA, whichever way it is added.)
 */
function onlyGivenCa(extra: Buffer[]): SecureContext {
  return tlsApi().createSecureContext({ ca: extra.map((b) => b.toString()) });
}

/** OpenSSL's verdicts for a chain that no CA in the store anchors: the system's CAs might. */
const ISSUER_UNKNOWN = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);

let unverified: SecureContext | undefined;
/** One secure context with an empty CA store, for the connections whose certificate is not verified. */
function unverifiedContext(): SecureContext {
  unverified ??= tlsApi().createSecureContext({ ca: [] });
  return unverified;
}

export class Transport {
  private readonly agents = new Lru<string, HttpAgent>(MAX_AGENTS, (_k, a) => retire(a));
  private readonly proxy: ProxyEnv;
  /** hosts with a given CA whose chain needed the system's CAs too (see {@link onlyGivenCa}) */
  private readonly withSystemCas = new Set<string>();

  constructor(
    env: NodeJS.ProcessEnv,
    private readonly hostConfig: (host: string) => HostConfig,
  ) {
    this.proxy = proxyEnv(env);
  }

  private tlsOptions(host: string) {
    const hc = this.hostConfig(host);
    // docker: an insecure registry's certificate is not verified (loopback counts as insecure) — but a CA given
    // for the host is always enforced
    const verify = !hc.insecure || hc.ca !== undefined;
    return {
      ...(hc.ca
        ? { secureContext: this.withSystemCas.has(host) ? withExtraCa(hc.ca) : onlyGivenCa(hc.ca) }
        : verify
          ? {}
          : // nothing is verified against it: no CA store (building node's root store costs ≈ 17 ms at the first
            // TLS connection, paid by every call to a loopback registry for the HTTPS attempt before plain HTTP)
            { secureContext: unverifiedContext() }),
      rejectUnauthorized: verify,
    };
  }

  /** One agent per scheme, host and proxy. */
  private agentKey(url: URL): string {
    const proxy = this.proxyFor(url);
    return `${url.protocol}//${url.host}${proxy ? ` via ${proxy.host}` : ''}`;
  }

  private proxyFor(url: URL): URL | undefined {
    const secure = url.protocol === 'https:';
    return bypass(url, this.proxy) ? undefined : secure ? this.proxy.https : this.proxy.http;
  }

  private agent(url: URL, timeoutMs: number): { agent: HttpAgent; viaProxy?: URL } {
    const secure = url.protocol === 'https:';
    const proxy = this.proxyFor(url);
    if (proxy && proxy.protocol !== 'http:') {
      // TLS (or SOCKS) to the proxy itself is not spoken here: refuse rather than send a CONNECT and the proxy
      // credentials in the clear to a port that expects something else
      throw new TrustpinError('USAGE', `proxy ${proxy.host}: ${proxy.protocol}// proxies are not supported`, {
        expected: 'an http:// proxy URL (HTTPS to the registry is still tunnelled with CONNECT and verified)',
        found: `${proxy.protocol}//${proxy.host}`,
        hint: `set ${secure ? 'HTTPS_PROXY' : 'HTTP_PROXY'}=http://${proxy.host}, or add the registry to NO_PROXY`,
      });
    }
    const key = this.agentKey(url);
    let agent = this.agents.get(key);
    if (!agent) {
      if (secure) {
        const tls = this.tlsOptions(url.host);
        const a = new (httpsApi().Agent)({ keepAlive: true, maxSockets: 8, timeout: IDLE_SOCKET_MS, ...tls });
        if (proxy) {
          // HTTPS through a proxy: a CONNECT tunnel, then TLS to the registry inside it
          (a as unknown as { createConnection: unknown }).createConnection = (
            _opts: unknown,
            cb: (err: Error | null, s?: Socket) => void,
          ) => {
            const req = httpRequest({
              host: proxy.hostname,
              port: proxy.port || 80,
              method: 'CONNECT',
              path: `${url.hostname}:${url.port || 443}`,
              headers: { host: `${url.hostname}:${url.port || 443}`, ...proxyAuth(proxy) },
            });
            // the request's idle timer only starts once it has a socket: bound the CONNECT exchange here
            const timer = setTimeout(
              () =>
                req.destroy(
                  codedError(
                    'UND_ERR_CONNECT_TIMEOUT',
                    `proxy ${proxy.host} did not answer CONNECT in ${timeoutMs} ms`,
                  ),
                ),
              timeoutMs,
            );
            req.once('connect', (res, socket) => {
              clearTimeout(timer);
              if (res.statusCode !== 200) {
                socket.destroy();
                // not a connection failure: retrying cannot help, and a 407 needs credentials
                cb(
                  codedError(
                    res.statusCode === 407 ? 'PROXY_AUTH_REQUIRED' : 'PROXY_REFUSED',
                    `proxy ${proxy.host} refused CONNECT: ${res.statusCode}`,
                  ),
                );
                return;
              }
              cb(null, tlsApi().connect({ socket, host: bare(url), ...sni(url), ...tls }));
            });
            req.once('error', (e) => {
              clearTimeout(timer);
              cb(e);
            });
            req.end();
            return undefined;
          };
        }
        agent = a;
      } else {
        agent = new HttpAgent({ keepAlive: true, maxSockets: 8, timeout: IDLE_SOCKET_MS });
      }
      this.agents.set(key, agent);
    }
    return { agent, ...(proxy && !secure ? { viaProxy: proxy } : {}) };
  }

  async send(url: URL, o: SendOptions): Promise<Exchange> {
    const withSystem = this.withSystemCas.has(url.host);
    try {
      return await this.exchange(url, o);
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (
        withSystem ||
        url.protocol !== 'https:' ||
        !ISSUER_UNKNOWN.has(code) ||
        !this.hostConfig(url.host).ca
      )
        throw e;
      // the given CA did not anchor the chain: once more with the system's CAs beside it, on a new agent (the
      // first of several requests failing at once replaces it; the others use the new one)
      if (!this.withSystemCas.has(url.host)) {
        this.withSystemCas.add(url.host);
        const key = this.agentKey(url);
        const stale = this.agents.peek(key);
        this.agents.delete(key);
        if (stale) retire(stale);
      }
      return this.exchange(url, o);
    }
  }

  private exchange(url: URL, o: SendOptions): Promise<Exchange> {
    const signals = o.signals ?? [];
    const early = signals.find((s) => s.aborted);
    if (early) return Promise.reject(abortError(early));
    const { agent, viaProxy } = this.agent(url, o.timeoutMs);
    const secure = url.protocol === 'https:';
    const target = viaProxy ?? url;
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsApi().request : httpRequest)({
        protocol: target.protocol,
        hostname: bare(target),
        port: target.port || (secure ? 443 : 80),
        // a plain-HTTP proxy gets the absolute URL
        path: viaProxy ? url.toString() : `${url.pathname}${url.search}`,
        method: o.method,
        headers: {
          host: url.host,
          ...o.headers,
          ...(viaProxy ? proxyAuth(viaProxy) : {}),
          ...(o.body ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}),
        },
        agent,
        ...(secure ? sni(url) : {}),
      });
      let response: IncomingMessage | undefined;
      // one idle timer for the whole exchange: no bytes for timeoutMs while connecting, waiting or reading
      req.setTimeout(o.timeoutMs, () => {
        const e = response
          ? codedError('UND_ERR_BODY_TIMEOUT', `body stalled for ${o.timeoutMs} ms`)
          : codedError('UND_ERR_HEADERS_TIMEOUT', `no response headers in ${o.timeoutMs} ms`);
        if (response) response.destroy(e);
        req.destroy(e);
      });
      const onAbort = (ev: Event) => {
        const e = abortError(ev.target as AbortSignal);
        // the body first: its reader must see the abort, not the ECONNRESET that tearing the socket causes
        if (response) response.destroy(e);
        req.destroy(e);
      };
      // listeners come off when the exchange ends: a client-wide signal lives for days
      const done = () => {
        for (const s of signals) s.removeEventListener('abort', onAbort);
      };
      for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => {
        if (!response) {
          done();
          reject(e);
        }
      });
      req.on('close', () => {
        if (!response) done();
      });
      req.on('response', (res) => {
        response = res;
        res.once('close', done);
        // a connection that dies mid-body surfaces as ECONNRESET on the body, so callers can resume
        res.on('aborted', () =>
          res.destroy(codedError('ECONNRESET', 'connection closed before the body ended')),
        );
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: withDump(res) });
      });
      req.end(o.body);
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('the operation was aborted'), { code: ABORT_CODE, cause: signal.reason });
}

/** An agent pushed out of the cache: closed now when idle; otherwise its sockets close on their idle timeout. */
function retire(a: HttpAgent): void {
  const busy = Object.keys(a.sockets).length + Object.keys(a.requests).length;
  if (busy === 0) a.destroy();
}
