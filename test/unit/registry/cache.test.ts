// The client's caches stay bounded for a process that runs for days: more hosts or token scopes than the bound
// keep the size at the bound, and a token is used until its expires_in (60 s when absent), then fetched again.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { json, MemoryRegistry } from '../../../src/demo/registry-server.js';
import { expiry, MAX_TOKENS, TOKEN_EXPIRY_MARGIN_MS } from '../../../src/registry/auth.js';
import { MAX_HOSTS, RegistryClient } from '../../../src/registry/client.js';
import { Lru } from '../../../src/util/lru.js';

test('Lru: the least recently used entry goes; get() refreshes; the size never passes the bound', () => {
  const evicted: string[] = [];
  const lru = new Lru<string, number>(3, (k) => evicted.push(k));
  for (const k of ['a', 'b', 'c']) lru.set(k, 1);
  lru.get('a');
  lru.set('d', 1);
  assert.deepEqual(evicted, ['b']);
  for (let i = 0; i < 100; i++) lru.set(`k${i}`, i);
  assert.equal(lru.size, 3);
  assert.equal(lru.get('k99'), 99);
  assert.equal(lru.get('a'), undefined);
});

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

test(`more hosts than MAX_HOSTS (${MAX_HOSTS}): the host cache stays at the bound and still works`, async () => {
  const servers: Server[] = [];
  const hosts: string[] = [];
  try {
    for (let i = 0; i < MAX_HOSTS + 10; i++) {
      const s = createServer((_req, res) => json(res, 200, {}));
      servers.push(s);
      hosts.push(await listen(s));
    }
    const client = new RegistryClient({ attempts: 1, credentials: async () => undefined });
    try {
      for (const h of hosts) {
        const res = await client.request(h, 'r', 'GET', 'tags/list');
        await res.body.dump();
        assert.equal(res.status, 200);
      }
      assert.equal(client.cacheSizes.hosts, MAX_HOSTS);
      // an evicted host is pinged again, transparently
      const res = await client.request(hosts[0]!, 'r', 'GET', 'tags/list');
      await res.body.dump();
      assert.equal(res.status, 200);
      assert.equal(client.cacheSizes.hosts, MAX_HOSTS);
    } finally {
      await client.close();
    }
  } finally {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  }
});

/** A registry whose every repository needs a bearer token from `/token`; counts tokens issued. */
async function tokenRegistry(body: (n: number) => Record<string, unknown> = () => ({})) {
  const reg = new MemoryRegistry();
  const host = await reg.listen();
  let issued = 0;
  reg.hook = (req, res, url) => {
    if (url.pathname === '/token') {
      issued++;
      json(res, 200, { token: `tok-${url.searchParams.get('scope')}`, ...body(issued) });
      return true;
    }
    if (req.headers.authorization?.startsWith('Bearer tok-')) {
      json(res, 200, { tags: [] });
      return true;
    }
    res.writeHead(401, {
      'WWW-Authenticate': `Bearer realm="http://${host}/token",service="t"`,
      'Content-Length': 0,
    });
    res.end();
    return true;
  };
  return { reg, host, issued: () => issued };
}

async function get(client: RegistryClient, host: string, repo: string): Promise<void> {
  const res = await client.request(host, repo, 'GET', 'tags/list');
  await res.body.dump();
  assert.equal(res.status, 200);
}

test(`more token scopes than MAX_TOKENS (${MAX_TOKENS}): the token cache stays at the bound`, async () => {
  const t = await tokenRegistry(() => ({ expires_in: 3600 }));
  const client = new RegistryClient({ attempts: 1, credentials: async () => undefined });
  try {
    for (let i = 0; i < MAX_TOKENS + 20; i++) await get(client, t.host, `r${i}`);
    assert.equal(client.cacheSizes.tokens, MAX_TOKENS);
    assert.equal(t.issued(), MAX_TOKENS + 20);
    // the newest scope is still cached; the oldest was dropped and is fetched again
    await get(client, t.host, `r${MAX_TOKENS + 19}`);
    assert.equal(t.issued(), MAX_TOKENS + 20);
    await get(client, t.host, 'r0');
    assert.equal(t.issued(), MAX_TOKENS + 21);
  } finally {
    await client.close();
    await t.reg.close();
  }
});

for (const [what, body, lifetimeS] of [
  ['expires_in: 300', { expires_in: 300 }, 300],
  ['no expires_in (the spec default, 60 s)', {}, 60],
  ['expires_in below the 60 s minimum', { expires_in: 10 }, 60],
] as const) {
  test(`a token with ${what} is reused until just before it expires, then fetched again`, async () => {
    const t = await tokenRegistry(() => body);
    let now = Date.parse('2026-12-01T00:00:00Z');
    const client = new RegistryClient({ attempts: 1, credentials: async () => undefined, now: () => now });
    try {
      await get(client, t.host, 'app');
      assert.equal(t.issued(), 1);
      now += lifetimeS * 1000 - TOKEN_EXPIRY_MARGIN_MS - 1000;
      await get(client, t.host, 'app');
      assert.equal(t.issued(), 1, 'still valid: reused');
      now += 1000;
      await get(client, t.host, 'app');
      assert.equal(t.issued(), 2, 'expired (with the margin): fetched again');
    } finally {
      await client.close();
      await t.reg.close();
    }
  });
}

test('issued_at counts from the server, unless it is in our future or would make the token dead on arrival', () => {
  const started = Date.parse('2026-12-01T00:10:00Z');
  const iso = (ms: number) => new Date(ms).toISOString();
  const margin = TOKEN_EXPIRY_MARGIN_MS;
  assert.equal(
    expiry({ expires_in: 300, issued_at: iso(started - 60_000) }, started),
    started + 240_000 - margin,
  );
  assert.equal(
    expiry({ expires_in: 300, issued_at: iso(started + 60_000) }, started),
    started + 300_000 - margin,
  );
  assert.equal(
    expiry({ expires_in: 300, issued_at: iso(started - 3_600_000) }, started),
    started + 300_000 - margin,
  );
  assert.equal(expiry({ expires_in: 300, issued_at: 'yesterday' }, started), started + 300_000 - margin);
  assert.equal(expiry({ expires_in: '300' }, started), started + 60_000 - margin);
});
