// A tiny in-process forward proxy for the proxy e2e tests: absolute-URI requests (plain HTTP) and CONNECT tunnels
// (HTTPS), optional Basic proxy authentication, and a route table that maps the made-up host a client asks for to a
// real loopback server; every request is recorded. Plus a TLS front that terminates TLS with a test cert and pipes
// the plain bytes to a loopback server, so HTTPS through a tunnel can reach the plain-HTTP docker-registry.
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, connect as netConnect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';

export interface ProxyRecord {
  /** `GET`, `HEAD`, `CONNECT`, … */
  method: string;
  /** what the client asked for: the absolute URL, or `host:port` for CONNECT */
  target: string;
  /** the Proxy-Authorization header as received */
  proxyAuthorization: string | undefined;
  /** what the proxy answered (200 for an established tunnel; 0 while it has not answered) */
  status: number;
}

export interface ProxyOptions {
  /** `host:port` a client asks for → `127.0.0.1:port` the proxy really dials; anything else gets 502 */
  routes: Record<string, string>;
  /** require these Basic credentials (`user:pass`), answering 407 otherwise */
  credentials?: string;
  /** accept CONNECT requests and never answer them (a wedged proxy) */
  stallConnect?: boolean;
}

export interface RunningProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  requests: ProxyRecord[];
  stop(): Promise<void>;
}

const REALM = 'Basic realm="trustpin-test-proxy"';

/** Track a socket until it closes, and swallow its errors (a client going away is not a test failure). */
function track(sockets: Set<Socket>, s: Socket): Socket {
  sockets.add(s);
  s.on('error', () => undefined);
  s.once('close', () => sockets.delete(s));
  return s;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
}

function splitHostPort(hp: string): { host: string; port: number } {
  const i = hp.lastIndexOf(':');
  return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
}

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const requests: ProxyRecord[] = [];
  const sockets = new Set<Socket>();
  // no keep-alive upstream: nothing idles after a test, and stop() only has to cut what is in flight
  const agent = new Agent({ keepAlive: false });
  const expected = opts.credentials && `Basic ${Buffer.from(opts.credentials).toString('base64')}`;
  const authorized = (req: IncomingMessage) => !expected || req.headers['proxy-authorization'] === expected;
  // recorded on arrival (status 0), so a request is counted even if the test stops the proxy mid-answer
  const record = (req: IncomingMessage): ProxyRecord => {
    const r: ProxyRecord = {
      method: req.method ?? '',
      target: req.url ?? '',
      proxyAuthorization: req.headers['proxy-authorization'],
      status: 0,
    };
    requests.push(r);
    return r;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const rec = record(req);
    let url: URL | undefined;
    try {
      url = /^https?:\/\//.test(req.url ?? '') ? new URL(req.url ?? '') : undefined;
    } catch {
      url = undefined;
    }
    const fail = (status: number, headers: Record<string, string> = {}) => {
      rec.status = status;
      res.writeHead(status, { 'content-length': '0', ...headers });
      res.end();
    };
    if (!url) return fail(400);
    if (!authorized(req)) return fail(407, { 'proxy-authenticate': REALM });
    const route = opts.routes[url.host];
    if (!route) return fail(502);
    const { host, port } = splitHostPort(route);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const up = httpRequest(
      { host, port, method: req.method, path: `${url.pathname}${url.search}`, headers, agent },
      (upRes) => {
        rec.status = upRes.statusCode ?? 0;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (res.headersSent) res.destroy();
      else fail(502);
    });
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => track(sockets, s));

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    track(sockets, client);
    const rec = record(req);
    const answer = (status: number, reason: string, extra = '') => {
      rec.status = status;
      client.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}content-length: 0\r\nconnection: close\r\n\r\n`);
    };
    if (!authorized(req))
      return answer(407, 'Proxy Authentication Required', `proxy-authenticate: ${REALM}\r\n`);
    if (opts.stallConnect) return;
    const route = opts.routes[req.url ?? ''];
    if (!route) return answer(502, 'Bad Gateway');
    const { host, port } = splitHostPort(route);
    const up = track(sockets, netConnect({ host, port }));
    // a 502 only before the tunnel is up; afterwards an upstream error just closes both ends (the close handlers)
    let open = false;
    up.once('error', () => {
      if (!open && !client.destroyed) answer(502, 'Bad Gateway');
    });
    up.once('connect', () => {
      open = true;
      rec.status = 200;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
      up.once('close', () => client.destroy());
      client.once('close', () => up.destroy());
    });
  });

  const port = await listen(server);
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    stop: () => {
      stopped ??= (async () => {
        agent.destroy();
        await closeServer(server, sockets);
      })();
      return stopped;
    },
  };
}

export interface TlsFront {
  /** `127.0.0.1:PORT` */
  host: string;
  /** the SNI name of each TLS connection accepted (undefined when the client sent none) */
  servernames: (string | undefined)[];
  stop(): Promise<void>;
}

/** Terminate TLS with `cert`/`key` (PEM) on a random loopback port and pipe the plain bytes to `target`. */
export async function startTlsFront(opts: { cert: string; key: string; target: string }): Promise<TlsFront> {
  const sockets = new Set<Socket>();
  const servernames: (string | undefined)[] = [];
  const { host, port } = splitHostPort(opts.target);
  const server = createTlsServer({ cert: opts.cert, key: opts.key }, (tlsSocket: TLSSocket) => {
    const sni = (tlsSocket as TLSSocket & { servername?: string | false }).servername;
    servernames.push(sni || undefined);
    tlsSocket.on('error', () => undefined);
    const up = track(sockets, netConnect({ host, port }));
    tlsSocket.pipe(up);
    up.pipe(tlsSocket);
    up.once('close', () => tlsSocket.destroy());
    tlsSocket.once('close', () => up.destroy());
  });
  // the raw TCP sockets, so stop() also cuts handshakes that never finished
  server.on('connection', (s: Socket) => track(sockets, s));
  server.on('tlsClientError', () => undefined);
  const p = await listen(server);
  return { host: `127.0.0.1:${p}`, servernames, stop: () => closeServer(server, sockets) };
}
