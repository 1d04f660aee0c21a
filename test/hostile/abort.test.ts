// Aborting a registry call against the lying registry: before it starts, while headers stall, while a body
// stalls, through the client's default signal and the shared ping. Every one rejects with ABORTED long before the
// timeout, and the server sees its connection closed (no socket left behind for a process that runs for days).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { TrustpinError } from '../../src/errors/index.js';
import { descriptor, type Liar, REPO, rejectsWith, streamFailsWith, withLiar } from './liar.js';

const MANIFESTS = `/v2/${REPO}/manifests/`;
const BLOBS = `/v2/${REPO}/blobs/`;
/** far longer than any abort may take: a test that waits for it has failed */
const SLOW = { timeoutMs: 20_000, attempts: 3 };

/** Resolves when the server side of `req`'s connection closes. */
function closedOnServer(req: IncomingMessage): Promise<void> {
  return new Promise((r) => req.socket.once('close', () => r()));
}

/** Stall `path`: headers never come. Resolves when the request arrived, with its connection's close. */
function stallHeaders(l: Liar, path: string): Promise<{ closed: Promise<void> }> {
  return new Promise((arrived) => {
    l.registry.hook = (req, _res, url) => {
      if (url.pathname !== path) return false;
      // wrapped: a promise resolved with a promise would wait for the close itself
      arrived({ closed: closedOnServer(req) });
      return true; // answered, never responded
    };
  });
}

async function fast<T>(p: Promise<T>, ms = 2000): Promise<T> {
  const started = Date.now();
  try {
    return await p;
  } finally {
    assert.ok(Date.now() - started < ms, `took ${Date.now() - started} ms`);
  }
}

test('abort before the call starts: ABORTED, and nothing reaches the registry', () =>
  withLiar(SLOW, async (l) => {
    const ac = new AbortController();
    ac.abort();
    await rejectsWith(l.source().resolve({ signal: ac.signal }), 'ABORTED');
    await streamFailsWith(await l.source().blob(descriptor(l.big), { signal: ac.signal }), 'ABORTED');
    assert.equal(l.registry.requests.length, 0);
  }));

test('abort while the manifest headers stall: ABORTED at once, the connection is closed', () =>
  withLiar(SLOW, async (l) => {
    const ac = new AbortController();
    const arrived = stallHeaders(l, `${MANIFESTS}1.0`);
    const p = l.source().resolve({ signal: ac.signal });
    const { closed } = await arrived;
    const started = Date.now();
    ac.abort();
    await fast(rejectsWith(p, 'ABORTED'));
    await fast(closed);
    assert.ok(Date.now() - started < 2000);
    assert.equal(l.hits(`${MANIFESTS}1.0`).length, 1, 'an abort is not retried');
  }));

test('abort while the ping stalls: the shared ping is cancelled and its connection closed', () =>
  withLiar(SLOW, async (l) => {
    const ac = new AbortController();
    const arrived = stallHeaders(l, '/v2/');
    const p = l.source().resolve({ signal: ac.signal });
    const { closed } = await arrived;
    ac.abort();
    await fast(rejectsWith(p, 'ABORTED'));
    await fast(closed);
    // the failed ping is forgotten: the next call pings again and succeeds
    l.registry.hook = undefined;
    assert.equal((await l.source().resolve()).digest, l.images.app.index.digest);
  }));

test('a caller that gives up does not abort the ping another caller still waits for', () =>
  withLiar(SLOW, async (l) => {
    let release: (() => void) | undefined;
    l.registry.hook = (_req, _res, url) => {
      if (url.pathname !== '/v2/' || release) return false;
      return new Promise<boolean>((r) => {
        release = () => r(false); // then answered normally
      });
    };
    const ac = new AbortController();
    const leaving = l.source().resolve({ signal: ac.signal });
    const staying = l.source().resolve();
    while (!release) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await rejectsWith(leaving, 'ABORTED');
    release();
    assert.equal((await staying).digest, l.images.app.index.digest);
  }));

test('abort while a blob body stalls: the stream errors with ABORTED, the connection is closed', () =>
  withLiar(SLOW, async (l) => {
    let closed: Promise<void> | undefined;
    l.registry.hook = (req, res, url) => {
      if (url.pathname !== BLOBS + l.big.digest) return false;
      closed = closedOnServer(req);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': l.big.size });
      res.write(l.big.bytes.subarray(0, l.big.size >> 1)); // and then nothing
      return true;
    };
    const ac = new AbortController();
    const s = await l.source().blob(descriptor(l.big), { signal: ac.signal });
    let got = 0;
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= l.big.size >> 1) ac.abort();
    });
    await fast(streamFailsWith(s, 'ABORTED'));
    assert.ok(closed);
    await fast(closed);
    assert.equal(l.hits(BLOBS + l.big.digest).length, 1, 'an aborted body is not resumed with Range');
  }));

test('abort a blob stream nobody is reading: it errors with ABORTED, the connection is closed', () =>
  withLiar(SLOW, async (l) => {
    let closed: Promise<void> | undefined;
    l.registry.hook = (req, _res, url) => {
      if (url.pathname === BLOBS + l.big.digest) closed = closedOnServer(req);
      return false; // served normally: the client just does not read
    };
    const ac = new AbortController();
    const s = await l.source().blob(descriptor(l.big), { signal: ac.signal });
    while (!closed) await new Promise((r) => setTimeout(r, 5));
    const failed = new Promise<unknown>((r) => s.once('error', r));
    ac.abort();
    const e = await fast(failed);
    assert.ok(e instanceof TrustpinError && e.code === 'ABORTED', String(e));
    await fast(closed);
  }));

test("the client's default signal aborts every call, during a stall and after", async () => {
  const ac = new AbortController();
  await withLiar({ ...SLOW, signal: ac.signal }, async (l) => {
    const arrived = stallHeaders(l, `${MANIFESTS}1.0`);
    const p = l.source().resolve();
    const { closed } = await arrived;
    ac.abort();
    await fast(rejectsWith(p, 'ABORTED'));
    await fast(closed);
    await rejectsWith(l.source().resolve(), 'ABORTED');
  });
});

test('abort while the token server stalls: ABORTED, the connection is closed', () =>
  withLiar(SLOW, async (l) => {
    let closed: Promise<void> | undefined;
    l.registry.hook = (req, res, url) => {
      if (url.pathname === '/token') {
        closed = closedOnServer(req);
        return true; // never answers
      }
      if (req.headers.authorization) return false;
      res.writeHead(401, {
        'WWW-Authenticate': `Bearer realm="http://${l.host}/token",service="liar"`,
        'Content-Length': 0,
      });
      res.end();
      return true;
    };
    const ac = new AbortController();
    const p = l.source().resolve({ signal: ac.signal });
    while (!closed) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await fast(rejectsWith(p, 'ABORTED'));
    await fast(closed);
  }));
