// Hostile registry, transport lies: cross-host redirects (credentials must stay home), bearer token caching and
// re-auth, stalled headers and bodies, 429/503 retries, and a blob connection reset then resumed with Range.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { json } from '../../src/demo/registry-server.js';
import { TrustpinError } from '../../src/errors/index.js';
import {
  descriptor,
  INDEX_TYPE,
  type Liar,
  REPO,
  readVerified,
  rejectsWith,
  startStorage,
  streamFailure,
  withLiar,
} from './liar.js';

const MANIFESTS = `/v2/${REPO}/manifests/`;
const BLOBS = `/v2/${REPO}/blobs/`;
const USER = { username: 'alice', password: 's3cret', source: 'test' };
const BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

function unauthorized(res: ServerResponse, challenge: string): true {
  res.writeHead(401, {
    'WWW-Authenticate': challenge,
    'Content-Type': 'application/json',
    'Content-Length': 2,
  });
  res.end('{}');
  return true;
}

test('7. a blob redirected to another host: the registry gets Authorization, the redirect target does not', async () => {
  await withLiar({ credentials: async () => USER }, async (l) => {
    const storage = await startStorage([l.big]);
    try {
      l.registry.hook = (req, res, url) => {
        if (req.headers.authorization !== BASIC) return unauthorized(res, 'Basic realm="x"');
        if (url.pathname !== BLOBS + l.big.digest) return false;
        res.writeHead(307, {
          Location: `http://${storage.host}/storage/${l.big.digest}`,
          'Content-Length': 0,
        });
        res.end();
        return true;
      };
      const bytes = await readVerified(await l.source().blob(descriptor(l.big)));
      assert.ok(bytes.equals(l.big.bytes));
      const asked = l.hits(BLOBS + l.big.digest);
      assert.equal(asked.length, 1);
      assert.equal(asked[0]!.headers.authorization, BASIC, 'the registry itself gets the credentials');
      assert.equal(storage.requests.length, 1);
      assert.equal(storage.requests[0]!.authorization, undefined, 'the redirect target must not see them');
    } finally {
      await storage.close();
    }
  });
});

/** A bearer-token registry: `/token` issues `tok-N`; only the newest token is accepted. */
function bearer(l: Liar): { tokens: () => number; revoke: () => void; alwaysDeny: () => void } {
  let issued = 0;
  let valid: string | undefined;
  let deny = false;
  const challenge = `Bearer realm="http://${l.host}/token",service="liar",scope="repository:${REPO}:pull"`;
  l.registry.hook = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (url.pathname === '/token') {
      assert.equal(req.headers.authorization, BASIC, 'the token endpoint gets the Basic credentials');
      assert.equal(url.searchParams.get('scope'), `repository:${REPO}:pull`);
      valid = `tok-${++issued}`;
      json(res, 200, { token: valid, expires_in: 300 });
      return true;
    }
    if (deny || valid === undefined || req.headers.authorization !== `Bearer ${valid}`) {
      return unauthorized(res, challenge);
    }
    return false;
  };
  return {
    tokens: () => issued,
    revoke: () => {
      valid = 'revoked';
    },
    alwaysDeny: () => {
      deny = true;
    },
  };
}

test('8. bearer: the token is cached, and a later 401 triggers exactly one re-auth', () =>
  withLiar({ credentials: async () => USER }, async (l) => {
    const b = bearer(l);
    const src = l.source();
    const top = await src.resolve();
    const amd = l.images.app.images[0]!.manifest;
    await src.manifest({ mediaType: amd.mediaType, digest: amd.digest, size: amd.size });
    assert.equal(b.tokens(), 1, 'the second manifest fetch reuses the cached token');
    assert.equal(l.hits('/token').length, 1);

    b.revoke();
    const again = await l.source().resolve();
    assert.equal(again.digest, top.digest);
    assert.equal(b.tokens(), 2, 'one 401, one new token');
    assert.equal(l.hits(`${MANIFESTS}1.0`).length, 3, 'fetch, 401, then one retry with the new token');

    b.alwaysDeny();
    await rejectsWith(l.source().resolve(), 'AUTH_REQUIRED');
    assert.equal(b.tokens(), 3, 'a registry that keeps refusing gets exactly one re-auth, not a loop');
  }));

// undici checks its timers on a ~500 ms tick, so a 500 ms timeout fires after 500–1000 ms.
test('9. manifest headers that never come → TIMEOUT within timeoutMs', () =>
  withLiar({ timeoutMs: 500, attempts: 1 }, async (l) => {
    l.registry.hook = (_req, _res, url) => url.pathname === `${MANIFESTS}1.0`; // answered, never responded
    const started = Date.now();
    await rejectsWith(l.source().resolve(), 'TIMEOUT');
    const took = Date.now() - started;
    assert.ok(took >= 400 && took < 2500, `took ${took} ms`);
  }));

/** Errors from bodies that stall mid-way, kept for the TIMEOUT code checks below. */
const stalls: { manifest?: unknown; blob?: unknown } = {};

/** TIMEOUT, or (today) undici's raw body timeout: either way a timeout, not some other failure. */
function isTimeout(e: unknown): boolean {
  return (
    (e instanceof TrustpinError && e.code === 'TIMEOUT') || /timeout/i.test(String((e as Error).message))
  );
}

function stallHalfway(l: Liar, path: string, body: Buffer, type: string): void {
  l.registry.hook = (_req, res, url) => {
    if (url.pathname !== path) return false;
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
    res.write(body.subarray(0, body.length >> 1)); // and then nothing, connection open
    return true;
  };
}

test('9. a manifest body that stalls mid-way is rejected, not trusted', () =>
  withLiar({ timeoutMs: 500, attempts: 1 }, async (l) => {
    stallHalfway(l, `${MANIFESTS}1.0`, l.images.app.index.bytes, INDEX_TYPE);
    const started = Date.now();
    await assert.rejects(l.source().resolve(), (e: unknown) => {
      stalls.manifest = e;
      return true;
    });
    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
    assert.ok(isTimeout(stalls.manifest), String(stalls.manifest));
  }));

test('9. a blob body that stalls mid-way errors the stream before its end', () =>
  withLiar({ timeoutMs: 500, attempts: 1 }, async (l) => {
    stallHalfway(l, BLOBS + l.big.digest, l.big.bytes, 'application/octet-stream');
    stalls.blob = await streamFailure(await l.source().blob(descriptor(l.big)));
    assert.ok(isTimeout(stalls.blob), String(stalls.blob));
  }));

for (const what of ['manifest', 'blob'] as const) {
  test(`9. a stalled ${what} body is reported as TIMEOUT`, {}, () => {
    const e = stalls[what];
    assert.ok(
      e instanceof TrustpinError,
      `got ${(e as Error | undefined)?.name}: ${(e as Error | undefined)?.message}`,
    );
    assert.equal(e.code, 'TIMEOUT');
  });
}

test('10. 429 with Retry-After: 0, then success → succeeds on the retry', () =>
  withLiar({ attempts: 3 }, async (l) => {
    let n = 0;
    l.registry.hook = (_req, res, url) => {
      if (url.pathname !== `${MANIFESTS}1.0` || n++ > 0) return false;
      res.writeHead(429, { 'Retry-After': '0', 'Content-Length': 0 });
      res.end();
      return true;
    };
    const started = Date.now();
    assert.equal((await l.source().resolve()).digest, l.images.app.index.digest);
    assert.equal(l.hits(`${MANIFESTS}1.0`).length, 2);
    assert.ok(Date.now() - started < 1000, 'Retry-After: 0 means no long wait');
  }));

for (const [status, code] of [
  [503, 'REGISTRY_ERROR'],
  [429, 'RATE_LIMITED'],
] as const) {
  test(`10. ${status} forever → ${code} after exactly \`attempts\` requests`, () =>
    withLiar({ attempts: 3, maxBackoffMs: 20 }, async (l) => {
      l.registry.hook = (_req, res, url) => {
        if (url.pathname !== `${MANIFESTS}1.0`) return false;
        res.writeHead(status, { 'Content-Length': 0 });
        res.end();
        return true;
      };
      await rejectsWith(l.source().resolve(), code);
      assert.equal(l.hits(`${MANIFESTS}1.0`).length, 3);
    }));
}

/** Serve the first half of the blob under an honest full Content-Length, then reset the connection. */
function resetHalfway(l: Liar, onRange: (res: ServerResponse, start: number) => boolean): void {
  l.registry.hook = (req, res, url) => {
    if (url.pathname !== BLOBS + l.big.digest) return false;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) return onRange(res, Number(range[1]));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': l.big.size });
    res.write(l.big.bytes.subarray(0, l.big.size >> 1), () => setTimeout(() => res.socket?.destroy(), 50));
    return true;
  };
}

test('11. a blob reset mid-body resumes with Range and still verifies end to end', () =>
  withLiar({ attempts: 3 }, async (l) => {
    resetHalfway(l, () => false); // the memory registry answers Range itself
    const bytes = await readVerified(await l.source().blob(descriptor(l.big)));
    assert.ok(bytes.equals(l.big.bytes));
    const asked = l.hits(BLOBS + l.big.digest);
    assert.equal(asked.length, 2);
    assert.equal(asked[0]!.headers.range, undefined);
    const m = /^bytes=(\d+)-$/.exec(String(asked[1]!.headers.range));
    assert.ok(m, `the second request carried Range (${asked[1]!.headers.range})`);
    assert.ok(Number(m[1]) > 0 && Number(m[1]) < l.big.size);
  }));

test('11. a resumed blob whose tail is other bytes → DIGEST_MISMATCH (the hash spans the resume)', () =>
  withLiar({ attempts: 3 }, async (l) => {
    resetHalfway(l, (res, start) => {
      const tail = Buffer.from(l.big.bytes.subarray(start));
      tail[0] = (tail[0]! + 1) & 0xff;
      res.writeHead(206, {
        'Content-Length': tail.length,
        'Content-Range': `bytes ${start}-${l.big.size - 1}/${l.big.size}`,
      });
      res.end(tail);
      return true;
    });
    const e = await streamFailure(await l.source().blob(descriptor(l.big)));
    assert.ok(e instanceof TrustpinError && e.code === 'DIGEST_MISMATCH', String(e));
  }));

test('11. a resume the registry ignores (200 to a Range request) fails instead of splicing', () =>
  withLiar({ attempts: 3 }, async (l) => {
    resetHalfway(l, (res) => {
      res.writeHead(200, { 'Content-Length': l.big.size });
      res.end(l.big.bytes);
      return true;
    });
    const e = await streamFailure(await l.source().blob(descriptor(l.big)));
    assert.ok(e instanceof TrustpinError && e.code === 'NETWORK_ERROR', String(e));
  }));
