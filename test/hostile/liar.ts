// The lying registry for the hostile tests: a MemoryRegistry seeded with the demo images whose `hook` each test
// bends, plus helpers to serve crafted bodies and to assert a failure left nothing reported as verified.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Blob, blobOf } from '../../src/demo/build.js';
import { type DemoSet, demoImages } from '../../src/demo/images.js';
import { MemoryRegistry } from '../../src/demo/registry-server.js';
import { DigestVerifier } from '../../src/digest/index.js';
import { type ErrorCode, TrustpinError } from '../../src/errors/index.js';
import type { Descriptor } from '../../src/manifest/index.js';
import { parseReference } from '../../src/reference/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RegistryOptions } from '../../src/registry/options.js';
import { RegistrySource } from '../../src/source/registry.js';

export const REPO = 'demo/app';
export const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

let demo: Promise<DemoSet> | undefined;
function demoSet(): Promise<DemoSet> {
  demo ??= demoImages();
  return demo;
}

/** Deterministic pseudo-random bytes, big enough to arrive in several chunks. */
export function bigBlob(size = 256 * 1024, seed = 7): Blob {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return blobOf(b, 'application/octet-stream');
}

export function descriptor(b: Blob): Descriptor {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size };
}

export interface Liar {
  registry: MemoryRegistry;
  host: string;
  images: DemoSet;
  /** a 256 KiB blob stored in the repository */
  big: Blob;
  client: RegistryClient;
  /** a RegistrySource for `host/demo/app<suffix>` (default `:1.0`) */
  source(suffix?: string): RegistrySource;
  /** requests the registry received whose path contains `part` */
  hits(part: string): MemoryRegistry['requests'];
}

/**
 * A fresh lying registry and client for one test; both are closed whatever the test does. `leaky` bounds
 * client.close() to 500 ms (kept for diagnosing connection leaks; no test needs it now).
 */
export async function withLiar(
  opts: RegistryOptions,
  fn: (l: Liar) => Promise<void>,
  leaky = false,
): Promise<void> {
  const images = await demoSet();
  const registry = new MemoryRegistry();
  registry.push(REPO, images.app, '1.0');
  const big = bigBlob();
  registry.putBlob(REPO, big);
  const host = await registry.listen();
  const client = new RegistryClient({
    attempts: 1,
    timeoutMs: 2000,
    maxBackoffMs: 20,
    credentials: async () => undefined,
    ...opts,
  });
  try {
    await fn({
      registry,
      host,
      images,
      big,
      client,
      source: (suffix = ':1.0') => new RegistrySource(parseReference(`${host}/${REPO}${suffix}`), client),
      hits: (part) => registry.requests.filter((r) => r.path.includes(part)),
    });
  } finally {
    // The server first: it cuts connections a failed stream may have left open, so close() cannot wait on them.
    await registry.close();
    if (leaky) await within(client.close(), 500);
    else await client.close();
  }
}

/** Answer with `body`; without Content-Length (chunked) when `chunked`. Returns true, as a hook must. */
export function serve(
  res: ServerResponse,
  body: Buffer,
  opts: { type?: string; digest?: string; chunked?: boolean; status?: number } = {},
): true {
  const headers: Record<string, string | number> = {
    'Content-Type': opts.type ?? 'application/octet-stream',
  };
  if (!opts.chunked) headers['Content-Length'] = body.length;
  if (opts.digest) headers['Docker-Content-Digest'] = opts.digest;
  res.writeHead(opts.status ?? 200, headers);
  if (opts.chunked) {
    for (let i = 0; i < body.length; i += 16 * 1024) res.write(body.subarray(i, i + 16 * 1024));
    res.end();
  } else {
    res.end(body);
  }
  return true;
}

export interface Flood {
  /** bytes the server managed to hand to its socket */
  written: number;
  /** resolves when the connection closed (the client gave up) */
  closed: Promise<void>;
}

/** Write 64 KiB chunks forever (or up to `total`), honouring backpressure, until the client goes away. */
export function flood(
  res: ServerResponse,
  headers: Record<string, string | number>,
  total = Infinity,
): Flood {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const f: Flood = { written: 0, closed: new Promise((r) => res.on('close', () => r())) };
  res.writeHead(200, headers);
  const pump = (): void => {
    while (!res.destroyed && f.written < total) {
      f.written += chunk.length;
      if (!res.write(chunk)) return;
    }
  };
  res.on('drain', pump);
  pump();
  return f;
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    t = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** The TrustpinError `p` rejects with, asserted to carry `code`. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<TrustpinError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof TrustpinError, `expected a TrustpinError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/**
 * Consume a blob stream (for-await, or pipeline into a sink) and return the error it failed with. Asserts it
 * failed, never emitted 'end', and that its verifier never marked it verified.
 */
export async function streamFailure(
  s: Readable,
  how: 'for-await' | 'pipeline' = 'for-await',
): Promise<unknown> {
  let ended = false;
  s.on('end', () => {
    ended = true;
  });
  let err: unknown;
  try {
    if (how === 'pipeline') {
      await pipeline(s, new Writable({ write: (_c, _e, cb) => cb() }));
    } else {
      for await (const _ of s) {
        // drain
      }
    }
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'the stream must fail');
  assert.equal(ended, false, 'a failed stream must not reach its end');
  if (s instanceof DigestVerifier) assert.equal(s.verified, false);
  return err;
}

export async function streamFailsWith(s: Readable, code: ErrorCode, how?: 'for-await' | 'pipeline') {
  const e = await streamFailure(s, how);
  assert.ok(e instanceof TrustpinError, `expected a TrustpinError ${code}, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return e;
}

/** Read a blob stream to its end and check it verified. */
export async function readVerified(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  assert.ok(s instanceof DigestVerifier && s.verified, 'the stream must verify');
  return Buffer.concat(chunks);
}

export interface Storage {
  host: string;
  requests: { path: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

/** A second loopback server (another port, so another host) serving blobs at `/storage/<digest>`. */
export async function startStorage(blobs: Blob[]): Promise<Storage> {
  const requests: Storage['requests'] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ path, authorization: req.headers.authorization });
    const b = blobs.find((x) => path === `/storage/${x.digest}`);
    if (!b) {
      res.writeHead(404);
      res.end();
      return;
    }
    serve(res, b.bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
