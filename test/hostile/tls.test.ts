// A trust server or registry whose certificate the given CA did not sign: the user sees TLS_ERROR naming the
// host, and no plain-HTTP request reaches the port — even on loopback, where plain HTTP is otherwise tried first.
// The server here speaks both TLS and plain HTTP on one port, and answers anything over plain HTTP, so a fallback
// would not just hide the TLS error but succeed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttp, type RequestListener } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { type AddressInfo, createServer as createNet, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RegistryClient } from '../../src/registry/client.js';
import { NotaryServer } from '../../src/trust/dct/source.js';
import { makeTestPki, type TestPki } from '../harness/tls.js';
import { rejectsWith } from './liar.js';

let dir: string;
let signer: TestPki;
let other: TestPki;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trustpin-tls-'));
  [signer, other] = await Promise.all([
    makeTestPki(await mkdtemp(join(dir, 'a-')), ['server']),
    makeTestPki(await mkdtemp(join(dir, 'b-')), ['server']),
  ]);
});
after(() => rm(dir, { recursive: true, force: true }));

interface Dual {
  host: string;
  /** request paths that arrived over plain HTTP / over TLS */
  plain: string[];
  tls: string[];
  close(): Promise<void>;
}

const answer =
  (log: string[]): RequestListener =>
  (req, res) => {
    log.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 });
    res.end('{}');
  };

/** What Go's TLS server says to a plain-HTTP request (docker-registry, harbor, zot all answer this way). */
const goTlsOnly =
  (log: string[]): RequestListener =>
  (req, res) => {
    log.push(req.url ?? '');
    res.writeHead(400, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end('Client sent an HTTP request to an HTTPS server.\n');
  };

/**
 * One port, two protocols: a first byte 0x16 (a TLS handshake) goes to HTTPS, anything else to plain HTTP,
 * answered by `plainAnswer` (by default like the TLS side).
 */
async function dualServer(pki: TestPki, plainAnswer = answer): Promise<Dual> {
  const plain: string[] = [];
  const tls: string[] = [];
  const leaf = pki.leaves.server!;
  const https = createHttps(
    { cert: await readFile(leaf.certFile), key: await readFile(leaf.keyFile) },
    answer(tls),
  );
  const http = createHttp(plainAnswer(plain));
  const net: Server = createNet((socket) => {
    socket.once('data', (first) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === 0x16 ? https : http).emit('connection', socket);
      // the servers do not resume a socket paused by someone else
      process.nextTick(() => socket.resume());
    });
  });
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', () => r()));
  return {
    host: `127.0.0.1:${(net.address() as AddressInfo).port}`,
    plain,
    tls,
    close: async () => {
      https.closeAllConnections();
      http.closeAllConnections();
      await new Promise<void>((r) => net.close(() => r()));
    },
  };
}

async function withDual(fn: (d: Dual) => Promise<void>, plainAnswer = answer): Promise<void> {
  const d = await dualServer(signer, plainAnswer);
  try {
    await fn(d);
  } finally {
    await d.close();
  }
}

function client(host: string, ca: TestPki): RegistryClient {
  return new RegistryClient({
    attempts: 1,
    timeoutMs: 5000,
    credentials: async () => undefined,
    extraCa: { [host]: [Buffer.from(ca.caPem)] },
  });
}

test('a notary server with a certificate the given CA did not sign → TLS_ERROR naming it, no plain HTTP', () =>
  withDual(async (d) => {
    const c = client(d.host, other);
    try {
      const server = new NotaryServer(`https://${d.host}`, c);
      const e = await rejectsWith(server.fetch('docker.io/library/app', 'root.json', 1 << 20), 'TLS_ERROR');
      assert.ok(e.message.includes(d.host), e.message);
      assert.deepEqual(d.plain, [], 'no plain-HTTP request may reach the port');
    } finally {
      await c.close();
    }
  }));

test('a loopback registry with a certificate the given CA did not sign → TLS_ERROR, no plain-HTTP fallback', () =>
  withDual(async (d) => {
    const c = client(d.host, other);
    try {
      const e = await rejectsWith(c.getManifest(d.host, 'demo/app', '1.0', 1 << 20), 'TLS_ERROR');
      assert.ok(e.message.includes(d.host), e.message);
      assert.deepEqual(d.plain, []);
    } finally {
      await c.close();
    }
  }));

test('the right CA: the same server is reached over HTTPS', () =>
  withDual(async (d) => {
    const c = client(d.host, signer);
    try {
      const server = new NotaryServer(`https://${d.host}`, c);
      assert.ok(await server.fetch('docker.io/library/app', 'root.json', 1 << 20));
      assert.ok(d.tls.includes('/v2/docker.io/library/app/_trust/tuf/root.json'), d.tls.join(' '));
      assert.deepEqual(d.plain, []);
    } finally {
      await c.close();
    }
  }));

test('an https:// server that does not speak TLS is never asked over plain HTTP', async () => {
  const plain: string[] = [];
  const http = createHttp(answer(plain));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const host = `127.0.0.1:${(http.address() as AddressInfo).port}`;
  const c = new RegistryClient({ attempts: 1, timeoutMs: 5000, credentials: async () => undefined });
  try {
    const server = new NotaryServer(`https://${host}`, c);
    await assert.rejects(server.fetch('docker.io/library/app', 'root.json', 1 << 20));
    assert.deepEqual(plain, []);
    // the same host as a loopback registry may still fall back to plain HTTP: the rule is per request
    const res = await c.request(host, 'demo/app', 'GET', 'tags/list');
    await res.body.dump();
    assert.equal(res.status, 200);
    assert.deepEqual(plain, ['/v2/', '/v2/demo/app/tags/list']);
  } finally {
    await c.close();
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  }
});

test('a loopback registry with no CA given: plain HTTP is asked first, and a server that answers it is used', () =>
  withDual(async (d) => {
    const c = new RegistryClient({ attempts: 1, timeoutMs: 5000, credentials: async () => undefined });
    try {
      const res = await c.request(d.host, 'demo/app', 'GET', 'tags/list');
      await res.body.dump();
      assert.equal(res.status, 200);
      assert.deepEqual(d.plain, ['/v2/', '/v2/demo/app/tags/list']);
      assert.deepEqual(d.tls, [], 'no TLS connection for a loopback registry that serves plain HTTP');
    } finally {
      await c.close();
    }
  }));

test('a loopback TLS-only registry (Go answers plain HTTP with 400): reached over HTTPS unverified, as docker', () =>
  withDual(async (d) => {
    const c = new RegistryClient({ attempts: 3, timeoutMs: 5000, credentials: async () => undefined });
    try {
      const res = await c.request(d.host, 'demo/app', 'GET', 'tags/list');
      await res.body.dump();
      assert.equal(res.status, 200);
      assert.deepEqual(d.plain, ['/v2/'], 'only the probe went over plain HTTP');
      assert.deepEqual(d.tls, ['/v2/', '/v2/demo/app/tags/list']);
    } finally {
      await c.close();
    }
  }, goTlsOnly));

test('a loopback TLS-only registry that resets a plain request: one probe, no retries, then HTTPS', async () => {
  const leaf = signer.leaves.server!;
  const seen: string[] = [];
  const https = createHttps(
    { cert: await readFile(leaf.certFile), key: await readFile(leaf.keyFile) },
    answer(seen),
  );
  let refused = 0;
  https.on('tlsClientError', () => refused++);
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
  const host = `127.0.0.1:${(https.address() as AddressInfo).port}`;
  const c = new RegistryClient({ attempts: 3, timeoutMs: 5000, credentials: async () => undefined });
  try {
    const t0 = performance.now();
    const res = await c.request(host, 'demo/app', 'GET', 'tags/list');
    await res.body.dump();
    assert.equal(res.status, 200);
    assert.deepEqual(seen, ['/v2/', '/v2/demo/app/tags/list']);
    assert.equal(
      refused,
      1,
      'the plain probe is made once: a reset there is the answer, not a reason to retry',
    );
    assert.ok(performance.now() - t0 < 1000, 'no retry backoff before HTTPS');
  } finally {
    await c.close();
    https.closeAllConnections();
    await new Promise<void>((r) => https.close(() => r()));
  }
});

test('a loopback port that answers plain HTTP but is not a registry: the error says what it answered', async () => {
  const http = createHttp((_req, res) => {
    res.writeHead(404, { 'Content-Length': 0 });
    res.end();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const host = `127.0.0.1:${(http.address() as AddressInfo).port}`;
  const c = new RegistryClient({ attempts: 1, timeoutMs: 5000, credentials: async () => undefined });
  try {
    const e = await rejectsWith(c.getManifest(host, 'demo/app', '1.0', 1 << 20), 'REGISTRY_ERROR');
    assert.match(e.message, /answered 404: not a registry/);
  } finally {
    await c.close();
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  }
});

test('a host with its own CA whose server chains to a system CA instead: verified on a second try with the system CAs', async () => {
  // node's default store holds NODE_EXTRA_CA_CERTS: `signer` stands in for a system CA, `other` is the given CA
  const leaf = signer.leaves.server!;
  const connections = { ok: 0, refused: 0 };
  const https = createHttps(
    { cert: await readFile(leaf.certFile), key: await readFile(leaf.keyFile) },
    answer([]),
  );
  https.on('secureConnection', () => connections.ok++);
  https.on('tlsClientError', () => connections.refused++);
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
  const host = `127.0.0.1:${(https.address() as AddressInfo).port}`;
  const script = join(dir, 'system-ca.mts');
  await writeFile(
    script,
    `import { RegistryClient } from ${JSON.stringify(new URL('../../src/registry/client.ts', import.meta.url).href)};
const c = new RegistryClient({ attempts: 1, timeoutMs: 5000, credentials: async () => undefined,
  extraCa: { ${JSON.stringify(host)}: [Buffer.from(${JSON.stringify(other.caPem)})] } });
const a = await c.request(${JSON.stringify(host)}, 'demo/app', 'GET', 'tags/list');
await a.body.dump();
const b = await c.request(${JSON.stringify(host)}, 'demo/other', 'GET', 'tags/list');
await b.body.dump();
await c.close();
process.stdout.write(String(a.status) + ' ' + String(b.status));
`,
  );
  try {
    // a child process (node reads NODE_EXTRA_CA_CERTS at start), run asynchronously: the server is in this one
    const r = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', script],
        { env: { ...process.env, NODE_EXTRA_CA_CERTS: signer.caFile }, encoding: 'utf8', timeout: 60_000 },
        (_e, stdout, stderr) => resolve({ stdout, stderr }),
      ),
    );
    assert.equal(r.stdout, '200 200', r.stderr);
    // the first handshake (given CA only) is refused by the client, the rest verify with the system CAs beside it
    assert.equal(connections.refused, 1, 'one refused handshake: later requests keep the wider store');
    assert.ok(connections.ok >= 1);
  } finally {
    https.closeAllConnections();
    await new Promise<void>((r) => https.close(() => r()));
  }
});
