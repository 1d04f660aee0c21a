// A small in-process OCI registry (read side) on 127.0.0.1: it serves the embedded demo with no network, no
// Debian package and no Docker, and is the base that the test suite's hostile registry bends.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Blob, BuiltImage, BuiltIndex } from './build.js';
import { allBlobs } from './build.js';

interface Repo {
  manifests: Map<string, Blob>;
  tags: Map<string, string>;
  blobs: Map<string, Blob>;
}

/** A request hook of {@link MemoryRegistry}; return true when it answered. */
export type Hook = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

/** An in-memory registry (read side) on 127.0.0.1: `push()` images, `listen()`, `close()`. */
export class MemoryRegistry {
  private readonly repos = new Map<string, Repo>();
  private server: Server | undefined;
  /** called before the normal handler; return true when the hook answered */
  hook: Hook | undefined;
  readonly requests: { method: string; path: string; headers: IncomingMessage['headers'] }[] = [];

  private repo(name: string): Repo {
    let r = this.repos.get(name);
    if (!r) {
      r = { manifests: new Map(), tags: new Map(), blobs: new Map() };
      this.repos.set(name, r);
    }
    return r;
  }

  putBlob(repo: string, b: Blob): void {
    this.repo(repo).blobs.set(b.digest, b);
  }

  putManifest(repo: string, b: Blob, tag?: string): void {
    const r = this.repo(repo);
    r.manifests.set(b.digest, b);
    if (tag) r.tags.set(tag, b.digest);
  }

  /** Store an image or index with all its blobs, tagged. */
  push(repo: string, x: BuiltIndex | BuiltImage, tag: string): void {
    const top = 'index' in x ? x.index : x.manifest;
    for (const b of allBlobs(x)) {
      if (b === top) continue;
      const isManifest = 'index' in x ? x.images.some((i) => i.manifest === b) : false;
      if (isManifest) this.putManifest(repo, b);
      else this.putBlob(repo, b);
    }
    this.putManifest(repo, top, tag);
  }

  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
    await new Promise<void>((res) => this.server!.listen(port, '127.0.0.1', () => res()));
    const a = this.server.address() as AddressInfo;
    return `127.0.0.1:${a.port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((res) => s.close(() => res()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers });
    if (this.hook && (await this.hook(req, res, url))) return;
    const path = url.pathname;
    if (path === '/v2/' || path === '/v2') return json(res, 200, {});
    const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.+)$/.exec(path);
    if (!m) return error(res, 404, 'NOT_FOUND', 'not found');
    const [, name, kind, ref] = m as unknown as [string, string, string, string];
    const repo = this.repos.get(name);
    if (!repo) return error(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
    if (kind === 'tags') return json(res, 200, { name, tags: [...repo.tags.keys()].sort() });
    if (kind === 'manifests') {
      const digest = ref.includes(':') ? ref : repo.tags.get(ref);
      const b = digest ? repo.manifests.get(digest) : undefined;
      if (!b) return error(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      return send(req, res, b, b.mediaType);
    }
    const b = repo.blobs.get(ref);
    if (!b) return error(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      if (start >= b.size) {
        res.writeHead(416, { 'Content-Range': `bytes */${b.size}` });
        return void res.end();
      }
      res.writeHead(206, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': b.size - start,
        'Content-Range': `bytes ${start}-${b.size - 1}/${b.size}`,
        'Docker-Content-Digest': b.digest,
      });
      return void res.end(req.method === 'HEAD' ? undefined : b.bytes.subarray(start));
    }
    return send(req, res, b, 'application/octet-stream');
  }
}

function send(req: IncomingMessage, res: ServerResponse, b: Blob, type: string): void {
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': b.size,
    'Docker-Content-Digest': b.digest,
    'Docker-Distribution-Api-Version': 'registry/2.0',
  });
  res.end(req.method === 'HEAD' ? undefined : b.bytes);
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}

export function error(res: ServerResponse, status: number, code: string, message: string): void {
  json(res, status, { errors: [{ code, message, detail: {} }] });
}
