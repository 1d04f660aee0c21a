// An in-process Notary v1 server for tests: HTTPS on 127.0.0.1 with a generated CA (the verifier only talks
// HTTPS to notary servers), serving the signed metadata of DctPublishers under /v2/<GUN>/_trust/tuf/.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { DAY, type Key, Publisher } from './publisher.js';
import { type LoopbackPki, loopbackPki } from './x509.js';

/** Options of {@link DctPublisher}. */
export interface DctPublisherOptions {
  /** the publisher's clock in ms (default: now); metadata expires relative to it */
  now?: number;
}

/**
 * A Docker Content Trust publisher for one repository (GUN): it signs tag → digest as `docker trust sign` does
 * (root, targets, snapshot and timestamp keys of its own) and gives the files a notary server serves.
 */
export class DctPublisher {
  /** the low-level publisher: keys, thresholds, delegations, expiries (for tests of hostile metadata) */
  readonly publisher: Publisher;
  private cached: Map<string, Buffer> | undefined;

  /** `gun` is the repository as notary names it: `registry/repo` (`docker.io/library/alpine`, `127.0.0.1:5000/demo/app`). */
  constructor(
    readonly gun: string,
    o: DctPublisherOptions = {},
  ) {
    this.publisher = new Publisher(gun, { now: o.now ?? Date.now() - DAY / 24 });
  }

  /** Sign `tag` → the manifest `digest` (`sha256:<hex>`) of `size` bytes; a new signature replaces the old one. */
  sign(tag: string, digest: string, size: number): this {
    const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
    if (!m) throw new Error(`DctPublisher.sign: ${digest} is not a sha256 digest`);
    this.publisher.addTarget('targets', tag, { digest: m[1]!, length: size });
    this.cached = undefined;
    return this;
  }

  /** The root key as root.json lists it (the certificate key ID); pin it with the verifier's `rootKeyIds`. */
  get rootKeyId(): string {
    return this.rootKey.id;
  }

  /** The root key's own ID (what `docker trust inspect` and key files show), also accepted as a pin. */
  get rootKeyCanonicalId(): string {
    return this.rootKey.canonicalId;
  }

  private get rootKey(): Key {
    return this.publisher.rootKey;
  }

  /** The served files by name (`timestamp.json`, `1.root.json`, `snapshot.<hex>.json`…), signed on demand. */
  files(): Map<string, Buffer> {
    this.cached ??= this.publisher.publish();
    return this.cached;
  }

  /** Forget the cached files: call it after changing `publisher` directly. */
  changed(): void {
    this.cached = undefined;
  }
}

/** Options of {@link startTestNotary}. */
export interface TestNotaryOptions {
  /** the server's CA, certificate and key (PEM); default: a fresh CA and a certificate for 127.0.0.1 */
  tls?: LoopbackPki;
}

/** A running in-process notary server. */
export interface TestNotary {
  /** `https://127.0.0.1:<port>`: the verifier's `trustServer` */
  readonly url: string;
  /** `127.0.0.1:<port>` */
  readonly host: string;
  /** the CA certificate (PEM) that signed the server's certificate: the verifier's `trustCa` */
  readonly ca: string;
  /** request paths seen, in order */
  readonly requests: string[];
  /** Serve `publisher`'s metadata under its GUN (replacing an earlier publisher of the same GUN). */
  serve(publisher: DctPublisher): void;
  /** Stop the server and drop its connections. */
  close(): Promise<void>;
}

const TUF = '/_trust/tuf/';

/** Start a notary server on 127.0.0.1 (a random port) that serves DctPublishers' metadata over HTTPS. */
export async function startTestNotary(o: TestNotaryOptions = {}): Promise<TestNotary> {
  const pki = o.tls ?? loopbackPki();
  const publishers = new Map<string, DctPublisher>();
  const requests: string[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname);
    requests.push(path);
    if (path === '/v2/' || path === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const at = path.indexOf(TUF);
    const gun = at > 4 && path.startsWith('/v2/') ? path.slice(4, at) : '';
    const body = publishers
      .get(gun)
      ?.files()
      .get(path.slice(at + TUF.length));
    if (!body) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"METADATA_NOT_FOUND"}]}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  };
  const server: Server = createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `https://${host}`,
    host,
    ca: pki.caPem,
    requests,
    serve: (p) => void publishers.set(p.gun, p),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
