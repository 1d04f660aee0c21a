// Faults that lose nothing, registry: the real docker-registry behind test/faults/fault-front.ts, which resets
// connections mid-manifest and mid-blob, answers 5xx/429 in bursts, or stalls after the headers. Bursts within the
// retry budget are ridden out (the pull completes and verifies); faults past it are reported with a code, within
// a bounded time, after exactly `attempts` requests — never a hang. (test/hostile covers the memory registry:
// stalled headers and bodies with one attempt, 503/429 forever, a blob reset resumed with Range.)
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import type { BuiltImage } from '../../src/demo/build.js';
import { TrustpinError } from '../../src/errors/index.js';
import { parseReference } from '../../src/reference/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { RegistrySource } from '../../src/source/index.js';
import { type RunningRegistry, startRegistry } from '../harness/index.js';
import { type FaultFront, startFaultFront } from './fault-front.js';
import { listFiles, noisyImage, pushImage, sha256File, trustpinChild } from './fixture.js';

let reg: RunningRegistry;
let front: FaultFront;
let img: BuiltImage;
let work: string;
const REPO = 'faults/net';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tp-faults-net-'));
  reg = await startRegistry({ mode: 'plain' });
  img = await noisyImage(1, 512 * 1024, 5);
  await pushImage(reg, REPO, '1.0', img);
  front = await startFaultFront(reg.host);
});
beforeEach(() => {
  front.plan = () => 'pass';
  front.requests.length = 0;
});
after(async () => {
  await Promise.allSettled([front?.close(), reg?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const MANIFEST = `/v2/${REPO}/manifests/1.0`;
const layerPath = () => `/v2/${REPO}/blobs/${img.layers[0]!.digest}`;
const cli = (args: string[], timeoutMs = 20_000) =>
  trustpinChild(args, { timeoutMs, env: { TRUSTPIN_HOME: join(work, 'home') } });

test('a pull through resets mid-manifest and mid-blob, a 503 burst and a 429 with Retry-After completes and verifies', async () => {
  front.plan = (r) => {
    if (r.path === MANIFEST && r.method === 'GET' && r.seen === 0) return { resetAfter: 40 };
    if (r.path === layerPath() && r.seen < 2) return { status: 503 };
    if (r.path === layerPath() && r.seen === 2) return { resetAfter: 100 * 1024 };
    if (r.path.includes(img.config.digest) && r.seen === 0) return { status: 429, retryAfter: '1' };
    return 'pass';
  };
  const layout = join(work, 'ridden');
  const r = await cli(['pull', `${front.host}/${REPO}:1.0`, '--dest', `oci:${layout}:1.0`]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  const blobs = listFiles(join(layout, 'blobs'));
  for (const b of [img.manifest, img.config, ...img.layers]) {
    assert.ok(blobs.includes(`sha256/${b.digest.slice(7)}`), `${b.digest} stored`);
    assert.equal(sha256File(join(layout, 'blobs', 'sha256', b.digest.slice(7))), b.digest.slice(7));
  }
  assert.deepEqual(
    blobs.filter((f) => !f.startsWith('sha256/')),
    [],
  );
  // the manifest was fetched again whole; the blob resumed where the reset cut it (Range)
  assert.equal(front.hits(MANIFEST).filter((h) => h.method === 'GET').length, 2);
  assert.equal(front.hits(layerPath()).length, 4);
});

for (const [name, fault, code] of [
  ['reset mid-manifest', { resetAfter: 40 }, 'NETWORK_ERROR'],
  ['503', { status: 503 }, 'REGISTRY_ERROR'],
  ['429', { status: 429, retryAfter: '0' }, 'RATE_LIMITED'],
] as const) {
  test(`a manifest that is always ${name}: ${code} after exactly 3 requests, exit 2, in bounded time`, async () => {
    front.plan = (r) => (r.path === MANIFEST ? fault : 'pass');
    const r = await cli(['inspect', `${front.host}/${REPO}:1.0`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^error\\[${code}\\]`, 'm'), r.stderr);
    assert.equal(front.hits(MANIFEST).length, 3, 'the default budget: 3 attempts');
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });
}

test('a 429 burst asking for Retry-After: 3600 is reported after the capped backoff, not an hour later', async () => {
  front.plan = (r) => (r.path === MANIFEST ? { status: 429, retryAfter: '3600' } : 'pass');
  const client = new RegistryClient({ attempts: 3, maxBackoffMs: 300, timeoutMs: 2000 });
  const started = Date.now();
  try {
    const src = new RegistrySource(parseReference(`${front.host}/${REPO}:1.0`), client);
    await assert.rejects(
      src.resolve(),
      (e: unknown) => e instanceof TrustpinError && e.code === 'RATE_LIMITED',
    );
  } finally {
    await client.close();
  }
  const took = Date.now() - started;
  assert.ok(took >= 550 && took < 2500, `two capped pauses of 300 ms: took ${took} ms`);
  assert.equal(front.hits(MANIFEST).length, 3);
});

test('a manifest that stalls after its headers: TIMEOUT within the timeout, exit 2, never a hang', async () => {
  front.plan = (r) => (r.path === MANIFEST ? { stallAfter: 0 } : 'pass');
  const r = await cli(['--timeout', '1', 'inspect', `${front.host}/${REPO}:1.0`], 15_000);
  assert.notEqual(r.signal, 'SIGKILL', 'the run hung until the test killed it');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error\[TIMEOUT\]/m, r.stderr);
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
});

test('a pull whose layer stalls mid-body: TIMEOUT, exit 2, nothing tagged, no partial blob or temp file', async () => {
  front.plan = (r) => (r.path === layerPath() ? { stallAfter: 64 * 1024 } : 'pass');
  const layout = join(work, 'stalled');
  const r = await cli(
    ['--timeout', '1', 'pull', `${front.host}/${REPO}:1.0`, '--dest', `oci:${layout}:1.0`],
    20_000,
  );
  assert.notEqual(r.signal, 'SIGKILL', 'the run hung until the test killed it');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error\[TIMEOUT\]/m, r.stderr);
  assert.ok(r.ms < 8000, `took ${r.ms} ms`);
  assert.ok(!existsSync(join(layout, 'index.json')), 'nothing tagged');
  const left = listFiles(join(layout, 'blobs')).filter(
    (f) => !/^sha256\/[0-9a-f]{64}$/.test(f) || sha256File(join(layout, 'blobs', f)) !== f.slice(7),
  );
  assert.deepEqual(left, []);
});
