// A fault-injecting reverse proxy in front of the real docker-registry: each request is passed through, or
// answered with a status (a 5xx/429 burst, with Retry-After), or cut off — the upstream's headers and the first
// bytes of its body, then a reset (RST) or a stall with the connection left open. A test sets `plan`.
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | 'pass'
  | { status: number; retryAfter?: string }
  | { resetAfter: number }
  | { stallAfter: number };

export interface FrontRequest {
  method: string;
  path: string;
  /** how many requests with this method and path came before this one */
  seen: number;
}

export interface FaultFront {
  host: string;
  requests: FrontRequest[];
  plan: (r: FrontRequest) => Fault;
  /** requests whose path contains `part` */
  hits(part: string): FrontRequest[];
  close(): Promise<void>;
}

export async function startFaultFront(upstream: string): Promise<FaultFront> {
  const [uhost, uport] = upstream.split(':');
  const sockets = new Set<Socket>();
  const counts = new Map<string, number>();
  const front: FaultFront = {
    host: '',
    requests: [],
    plan: () => 'pass',
    hits: (part) => front.requests.filter((r) => r.path.includes(part)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const key = `${req.method} ${req.url}`;
    const r: FrontRequest = { method: req.method ?? 'GET', path: req.url ?? '/', seen: counts.get(key) ?? 0 };
    counts.set(key, r.seen + 1);
    front.requests.push(r);
    const fault = front.plan(r);
    if (fault !== 'pass' && 'status' in fault) {
      const headers: Record<string, string | number> = { 'content-length': 0 };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      res.writeHead(fault.status, headers).end();
      return;
    }
    const headers = { ...req.headers, host: upstream };
    const up = request(
      { host: uhost, port: Number(uport), method: req.method, path: req.url, headers },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (fault === 'pass') {
          ur.pipe(res);
          return;
        }
        const limit = 'resetAfter' in fault ? fault.resetAfter : fault.stallAfter;
        // a reset once the bytes have reached the client (an RST discards what is still unsent); a stall keeps the
        // connection open and says nothing more
        const cut = () => {
          ur.destroy();
          if ('resetAfter' in fault) setTimeout(() => res.socket?.resetAndDestroy(), 50);
        };
        let sent = 0;
        if (limit === 0) res.flushHeaders();
        ur.on('data', (c: Buffer) => {
          if (sent >= limit) return;
          const part = c.subarray(0, limit - sent);
          sent += part.length;
          if (sent >= limit) res.write(part, cut);
          else res.write(part);
        });
        ur.on('end', () => {
          if (sent < limit) cut();
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  front.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return front;
}
