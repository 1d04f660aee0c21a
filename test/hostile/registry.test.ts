// Hostile registry, content lies: swapped or forged manifests, lying Docker-Content-Digest headers, blobs too long,
// too short or wrong, endless and oversized manifests. Each must fail with its code and nothing verified.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf } from '../../src/digest/index.js';
import { walkImage } from '../../src/image/walk.js';
import { DEFAULT_MANIFEST_CAP } from '../../src/source/types.js';
import {
  descriptor,
  flood,
  INDEX_TYPE,
  REPO,
  rejectsWith,
  serve,
  streamFailsWith,
  within,
  withLiar,
} from './liar.js';

const MANIFESTS = `/v2/${REPO}/manifests/`;
const BLOBS = `/v2/${REPO}/blobs/`;

test('1. a swapped child manifest (right length, other bytes) fails walkImage with DIGEST_MISMATCH', () =>
  withLiar({}, async (l) => {
    const amd = l.images.app.images[0]!;
    const arm = l.images.app.images[1]!;
    assert.equal(amd.manifest.size, arm.manifest.size, 'same length, so only the digest can catch it');
    l.registry.hook = (_req, res, url) =>
      url.pathname === MANIFESTS + amd.manifest.digest &&
      serve(res, arm.manifest.bytes, { type: arm.manifest.mediaType, digest: amd.manifest.digest });
    const e = await rejectsWith(walkImage(l.source(), { configs: true }), 'DIGEST_MISMATCH');
    assert.equal(e.expected, amd.manifest.digest);
    assert.equal(e.found, arm.manifest.digest);
  }));

test('2a. a tag fetch reports sha256 of the body, never the Docker-Content-Digest header', () =>
  withLiar({}, async (l) => {
    const index = l.images.app.index;
    const liar = l.images.liar.manifest;
    // honest body, lying header
    l.registry.hook = (_req, res, url) =>
      url.pathname === `${MANIFESTS}1.0` &&
      serve(res, index.bytes, { type: INDEX_TYPE, digest: liar.digest });
    assert.equal((await l.source().resolve()).digest, index.digest);
    // other body, header claiming the real index
    l.registry.hook = (_req, res, url) =>
      url.pathname === `${MANIFESTS}1.0` &&
      serve(res, liar.bytes, { type: liar.mediaType, digest: index.digest });
    const d = await l.source().resolve();
    assert.equal(d.digest, liar.digest);
    assert.equal(d.digest, digestOf(liar.bytes));
    assert.notEqual(d.digest, index.digest);
  }));

test('2b. a by-digest fetch with other bytes and the right header fails with DIGEST_MISMATCH', () =>
  withLiar({}, async (l) => {
    const index = l.images.app.index;
    const liar = l.images.liar.manifest;
    l.registry.hook = (_req, res, url) =>
      url.pathname === MANIFESTS + index.digest &&
      serve(res, liar.bytes, { type: liar.mediaType, digest: index.digest });
    const e = await rejectsWith(l.source(`@${index.digest}`).resolve(), 'DIGEST_MISMATCH');
    assert.equal(e.expected, index.digest);
    await rejectsWith(walkImage(l.source(`@${index.digest}`)), 'DIGEST_MISMATCH');
  }));

type BlobLie = {
  name: string;
  code: 'SIZE_EXCEEDED' | 'SIZE_MISMATCH' | 'DIGEST_MISMATCH';
  chunked: boolean;
};
const blobLies: (BlobLie & { body: (b: Buffer) => Buffer })[] = [
  {
    name: 'longer, honest Content-Length',
    code: 'SIZE_EXCEEDED',
    chunked: false,
    body: (b) => Buffer.concat([b, b]),
  },
  { name: 'longer, chunked', code: 'SIZE_EXCEEDED', chunked: true, body: (b) => Buffer.concat([b, b]) },
  {
    name: 'shorter, honest Content-Length',
    code: 'SIZE_MISMATCH',
    chunked: false,
    body: (b) => b.subarray(0, -1),
  },
  {
    name: 'shorter, chunked',
    code: 'SIZE_MISMATCH',
    chunked: true,
    body: (b) => b.subarray(0, b.length >> 1),
  },
  { name: 'right length, one byte flipped', code: 'DIGEST_MISMATCH', chunked: false, body: flipLast },
  { name: 'right length, other bytes, chunked', code: 'DIGEST_MISMATCH', chunked: true, body: flipLast },
];

function flipLast(b: Buffer): Buffer {
  const c = Buffer.from(b);
  c[c.length - 1] = (c[c.length - 1]! + 1) & 0xff;
  return c;
}

for (const lie of blobLies) {
  for (const how of ['for-await', 'pipeline'] as const) {
    test(`3. blob ${lie.name} → ${lie.code} (${how})`, () =>
      withLiar(
        {},
        async (l) => {
          l.registry.hook = (_req, res, url) =>
            url.pathname === BLOBS + l.big.digest &&
            serve(res, lie.body(l.big.bytes), { chunked: lie.chunked });
          const e = await streamFailsWith(await l.source().blob(descriptor(l.big)), lie.code, how);
          if (lie.code === 'SIZE_EXCEEDED' && !lie.chunked) assert.match(e.found ?? '', /Content-Length/);
          if (lie.code === 'DIGEST_MISMATCH') assert.equal(e.expected, l.big.digest);
        },
        lie.name === 'longer, chunked',
      ));
  }
}

test('3. a blob stream that fails verification releases its connection', {}, () =>
  withLiar(
    {},
    async (l) => {
      let f: ReturnType<typeof flood> | undefined;
      l.registry.hook = (_req, res, url) => {
        if (url.pathname !== BLOBS + l.big.digest) return false;
        f = flood(res, {});
        return true;
      };
      await streamFailsWith(await l.source().blob(descriptor(l.big)), 'SIZE_EXCEEDED');
      assert.ok(f, 'the blob was requested');
      assert.ok(await within(f.closed, 1000), 'the server connection must be closed once the stream failed');
      assert.ok(await within(l.client.close(), 1000), 'client.close() must not hang on the failed blob');
    },
    true,
  ),
);

test('3. a blob consumer that stops early releases the connection', {}, () =>
  withLiar(
    {},
    async (l) => {
      let f: ReturnType<typeof flood> | undefined;
      l.registry.hook = (_req, res, url) => {
        if (url.pathname !== BLOBS + l.big.digest) return false;
        f = flood(res, { 'Content-Length': l.big.size }, l.big.size);
        return true;
      };
      const s = await l.source().blob(descriptor(l.big));
      for await (const _ of s) break;
      assert.ok(f);
      assert.ok(await within(f.closed, 1000), 'the server connection must be closed once the consumer left');
    },
    true,
  ),
);

test('4. an endless chunked manifest fails with SIZE_EXCEEDED at the 4 MiB cap and the connection closes', () =>
  withLiar({}, async (l) => {
    let f: ReturnType<typeof flood> | undefined;
    l.registry.hook = (_req, res, url) => {
      if (url.pathname !== `${MANIFESTS}1.0`) return false;
      f = flood(res, { 'Content-Type': INDEX_TYPE });
      return true;
    };
    const started = Date.now();
    const e = await rejectsWith(l.source().resolve(), 'SIZE_EXCEEDED');
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.match(e.expected ?? '', new RegExp(String(DEFAULT_MANIFEST_CAP)));
    assert.ok(f);
    assert.ok(await within(f.closed, 2000), 'the server connection must be closed');
    assert.ok(f.written < 64 * 1024 * 1024, `the server wrote ${f.written} bytes`);
  }));

test('5. an index child whose digest names other bytes (same length) → DIGEST_MISMATCH', () =>
  withLiar({}, async (l) => {
    const amd = l.images.app.images[0]!;
    // X's bytes, its config swapped for the liar's: a plausible forgery of exactly the same length
    const forged = Buffer.from(
      amd.manifest.bytes.toString().replace(amd.config.digest, l.images.liar.config.digest),
    );
    assert.equal(forged.length, amd.manifest.size);
    assert.notEqual(digestOf(forged), amd.manifest.digest);
    l.registry.hook = (_req, res, url) =>
      url.pathname === MANIFESTS + amd.manifest.digest &&
      serve(res, forged, { type: amd.manifest.mediaType, digest: amd.manifest.digest });
    const e = await rejectsWith(walkImage(l.source()), 'DIGEST_MISMATCH');
    assert.equal(e.expected, amd.manifest.digest);
    assert.equal(e.found, digestOf(forged));
  }));

test('5. an index child served with other bytes of another length → SIZE_MISMATCH', () =>
  withLiar({}, async (l) => {
    const amd = l.images.app.images[0]!;
    const padded = Buffer.concat([amd.manifest.bytes, Buffer.from(' ')]); // same JSON, other bytes
    l.registry.hook = (_req, res, url) =>
      url.pathname === MANIFESTS + amd.manifest.digest &&
      serve(res, padded, { type: amd.manifest.mediaType });
    await rejectsWith(walkImage(l.source()), 'SIZE_MISMATCH');
  }));

test('6. a manifest over 4 MiB with an honest Content-Length → SIZE_EXCEEDED without reading it', () =>
  withLiar({}, async (l) => {
    const total = 64 * 1024 * 1024;
    let f: ReturnType<typeof flood> | undefined;
    l.registry.hook = (_req, res, url) => {
      if (url.pathname !== `${MANIFESTS}1.0`) return false;
      f = flood(res, { 'Content-Type': INDEX_TYPE, 'Content-Length': total }, total);
      return true;
    };
    const started = Date.now();
    const e = await rejectsWith(l.source().resolve(), 'SIZE_EXCEEDED');
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.match(e.found ?? '', /Content-Length/);
    assert.ok(f);
    assert.ok(await within(f.closed, 2000), 'the server connection must be closed');
    assert.ok(f.written < 16 * 1024 * 1024, `the server wrote ${f.written} of ${total} bytes`);
  }));

test('6. a child descriptor over 4 MiB is refused before any request', () =>
  withLiar({}, async (l) => {
    const amd = l.images.app.images[0]!.manifest;
    const before = l.hits(`manifests/${amd.digest}`).length;
    const d = { mediaType: amd.mediaType, digest: amd.digest, size: DEFAULT_MANIFEST_CAP + 1 };
    await rejectsWith(l.source().manifest(d), 'SIZE_EXCEEDED');
    assert.equal(l.hits(`manifests/${amd.digest}`).length, before);
  }));
