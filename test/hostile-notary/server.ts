// A hostile notary server for tests: HTTPS on 127.0.0.1 with a real CA the client must verify, serving a set of
// metadata files under /v2/<GUN>/_trust/tuf/, with hooks to replace any answer and counters of what happened.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import { loopbackPki } from '../../src/testing/index.js';
import { NotaryServer } from '../../src/trust/dct/source.js';

/** Return true when the hook answered the request itself. `name` is the path after `_trust/tuf/`. */
export type Hook = (name: string, req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

const PREFIX = '/_trust/tuf/';

export class HostileNotary {
  /** the files served, by name as requested (`timestamp.json`, `snapshot.<hex>.json`, `2.root.json`) */
  files = new Map<string, Buffer>();
  hook: Hook | undefined;
  /** TCP connections accepted, and request paths seen (including the /v2/ ping) */
  connections = 0;
  readonly requests: string[] = [];
  /** the CA certificate, also written to `caFile` (the client reads it from disk like a --trust-ca file) */
  readonly caPem: string;
  readonly caFile: string;
  private readonly dir: string;
  private readonly server: Server;
  private readonly clients: RegistryClient[] = [];

  private constructor(readonly gun: string) {
    const pki = loopbackPki();
    this.caPem = pki.caPem;
    this.dir = mkdtempSync(join(tmpdir(), 'hostile-notary-'));
    this.caFile = join(this.dir, 'ca.crt');
    writeFileSync(this.caFile, pki.caPem);
    this.server = createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(e));
      });
    });
    this.server.on('connection', () => this.connections++);
  }

  static async start(gun: string, files?: Map<string, Buffer>): Promise<HostileNotary> {
    const s = new HostileNotary(gun);
    if (files) s.files = files;
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }
  get url(): string {
    return `https://${this.host}`;
  }

  /** The registry client option that makes the client trust our CA for this host (and nothing else). */
  extraCa(): Record<string, Buffer[]> {
    return { [this.host]: [readFileSync(this.caFile)] };
  }

  /** A NotaryServer source over a fresh, isolated client (no docker config, no retries); closed by close(). */
  source(): NotaryServer {
    const client = new RegistryClient({
      extraCa: this.extraCa(),
      certsDir: this.dir,
      env: {},
      credentials: async () => undefined,
      attempts: 1,
      timeoutMs: 5_000,
    });
    this.clients.push(client);
    return new NotaryServer(this.url, client);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname);
    this.requests.push(path);
    if (path === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const base = `/v2/${this.gun}${PREFIX}`;
    if (!path.startsWith(base)) {
      res.writeHead(404).end();
      return;
    }
    const name = path.slice(base.length);
    if (this.hook && (await this.hook(name, req, res))) return;
    const body = this.files.get(name);
    if (!body) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"METADATA_NOT_FOUND"}]}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Streamed {
  /** bytes handed to the socket so far (live: read it while the stream is stuck on backpressure) */
  sent: number;
  /** the client closed the connection before the end */
  aborted: boolean;
  /** resolves when the stream ended or the client went away */
  done: Promise<void>;
}

/**
 * Answer with up to `total` bytes of filler, chunked (no Content-Length, so only reading can reveal the size),
 * respecting backpressure: a client that stops reading stops the stream, and `sent` shows where.
 */
export function endless(res: ServerResponse, total: number, chunk = 16 * 1024): Streamed {
  const block = Buffer.alloc(chunk, 0x20);
  res.writeHead(200, { 'content-type': 'application/json' });
  let finished = false;
  let resolveDone!: () => void;
  const s: Streamed = { sent: 0, aborted: false, done: new Promise((r) => (resolveDone = r)) };
  const finish = (aborted: boolean) => {
    if (finished) return;
    finished = true;
    s.aborted = aborted;
    resolveDone();
  };
  res.on('close', () => finish(s.sent < total));
  const pump = () => {
    while (!finished && !res.destroyed && s.sent < total) {
      s.sent += chunk;
      // a full socket buffer means the client is not reading: wait, as a real sender would
      if (!res.write(block)) return void res.once('drain', pump);
    }
    if (s.sent >= total) res.end(() => finish(false));
  };
  pump();
  return s;
}
