// Layers parsed on parser threads: the same entries, hashes and fingerprint as on the calling thread, coded
// errors (caps, hostile names) that stay coded across the thread boundary, a dead thread that is told apart from
// a bad layer, and a whole diff of big layers that reads the same through threads as without them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { allBlobs, blobOf, descriptorOf } from '../../../src/demo/build.js';
import { diffImages } from '../../../src/diff/diff.js';
import {
  PARSER_THREAD_MIN_BYTES,
  ParserPool,
  parseLayerFile,
  parserLost,
  sharedParserPool,
} from '../../../src/diff/parse.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { verifiedFileAt } from '../../../src/layer/verified-file.js';
import { MT } from '../../../src/manifest/index.js';
import { openOciLayout } from '../../../src/source/oci-layout.js';
import { writeOciLayout } from '../../harness/oci-layout-writer.js';
import { imageOf, type RawEntry, tarOf } from './helpers.js';

let dir: string;
let tmp: string;
const oldTmp = process.env.TMPDIR;
const T1 = new Date('2024-01-01T00:00:00Z');
const T2 = new Date('2025-06-01T12:00:00Z');
// base64 of random bytes (6 bits a byte under gzip), so that the blob passes PARSER_THREAD_MIN_BYTES and takes the
// thread path
const big = randomBytes(PARSER_THREAD_MIN_BYTES * 1.25).toString('base64');
const changed = `X${big.slice(1)}`;
const layer = (mtime: Date, content: string): RawEntry[] => [
  { name: 'app/', mtime },
  { name: 'app/big', content, mtime },
  { name: 'app/small', content: 'x=1', mtime },
  { name: 'app/link', type: 'symlink', linkname: 'small', mtime },
];

async function layerFile(name: string, entries: RawEntry[]) {
  const gz = gzipSync(await tarOf(entries), { level: 1 });
  const b = blobOf(gz, MT.ociLayerGzip);
  const path = join(dir, name);
  await writeFile(path, gz);
  return verifiedFileAt(path, descriptorOf(b));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trustpin-parse-unit-'));
  tmp = join(dir, 'tmp');
  await mkdir(tmp);
  process.env.TMPDIR = tmp;
  const images = {
    a: await imageOf([
      layer(T1, big),
      [
        { name: 'etc/', mtime: T1 },
        { name: 'etc/os', content: 'v1' },
      ],
    ]),
    // a rebuild: every mtime moved, one byte of the big file changed
    b: await imageOf([
      layer(T2, changed),
      [
        { name: 'etc/', mtime: T2 },
        { name: 'etc/os', content: 'v1' },
      ],
    ]),
  };
  await writeOciLayout(
    join(dir, 'oci'),
    Object.values(images).flatMap((i) => allBlobs(i)),
    Object.entries(images).map(([name, i]) => ({ name, target: i.manifest })),
  );
});
after(async () => {
  // assigning undefined would set the string "undefined"
  if (oldTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = oldTmp;
  await rm(dir, { recursive: true, force: true });
});

test('a parser thread gives what the calling thread gives: entries, body hashes, diff_id, order', async () => {
  const f = await layerFile('same.tar.gz', layer(T1, big));
  const pool = new ParserPool(1);
  try {
    const here = await parseLayerFile(f);
    const there = await pool.parse(f, {});
    assert.deepEqual(there, here);
    assert.equal(there.entries.find((e) => e.entry.path === 'app/big')?.sha256?.length, 64);
    assert.equal(there.fingerprint.entries, 4);
  } finally {
    await pool.close();
  }
  assert.equal(pool.threads, 0);
});

test('a cap or a hostile name fails on the thread as the same coded error', async () => {
  const pool = new ParserPool(1);
  try {
    const f = await layerFile('bomb.tar.gz', layer(T1, big));
    await assert.rejects(
      pool.parse(f, { limits: { maxBytes: 1024 * 1024, maxRatio: 1000 } }),
      (e: unknown) => isTrustpinError(e, 'SIZE_EXCEEDED') && !parserLost(e),
    );
    const h = await layerFile('hostile.tar.gz', [{ name: '../../etc/cron.d/x', content: 'boom' }]);
    await assert.rejects(pool.parse(h, {}), (e: unknown) => isTrustpinError(e, 'PATH_ESCAPE'));
    const n = await layerFile('names.tar.gz', [{ name: 'a'.repeat(300), content: 'x' }]);
    await assert.rejects(pool.parse(n, { tarLimits: { maxEntries: 10, maxPathLength: 100 } }), (e: unknown) =>
      isTrustpinError(e, 'LAYER_INVALID'),
    );
    // the thread that refused them is still there for the next layer
    const ok = await pool.parse(await layerFile('ok.tar.gz', layer(T2, 'fine')), {});
    assert.equal(ok.entries.length, 4);
  } finally {
    await pool.close();
  }
});

test('a thread that dies under a layer is told apart from a bad layer (the reader parses it itself)', async () => {
  const pool = new ParserPool(1);
  const f = await layerFile('lost.tar.gz', layer(T1, big));
  const p = pool.parse(f, {});
  await pool.close();
  await assert.rejects(p, (e: unknown) => parserLost(e) && !isTrustpinError(e));
  await assert.rejects(pool.parse(f, {}), /closed/);
});

test('a diff of big layers through parser threads finds the one changed file, as without threads', async () => {
  const A = openOciLayout(`${join(dir, 'oci')}:a`);
  const B = openOciLayout(`${join(dir, 'oci')}:b`);
  const m = await A.manifest(await A.resolve());
  assert.ok(m.value.kind === 'image' && m.value.layers[0]!.size > PARSER_THREAD_MIN_BYTES);
  const threaded = await diffImages(A, B, { mode: 'semantic', parserThreads: 2 });
  const inline = await diffImages(A, B, { mode: 'semantic', parserThreads: 0 });
  assert.deepEqual(threaded, inline);
  assert.equal(threaded.basis, 'files');
  assert.deepEqual(
    threaded.files.changed.map((c) => [c.path, c.what]),
    [['app/big', ['content']]],
  );
  assert.equal(threaded.files.changed[0]?.class, 'same-size-content');
  assert.equal(threaded.layersRead, 4);
  // the big layers went through the threads (they stay up a few seconds for the next diff)
  assert.ok(sharedParserPool(2).threads > 0);
  const left = (await readdir(tmp)).filter((f) => f.startsWith('trustpin-'));
  assert.deepEqual(left, [], 'no temp file left behind');
});

test('with parser threads, at most two layers download at once (the third slot waits on disk for a thread)', async () => {
  let active = 0;
  let most = 0;
  const counted = (tag: string) => {
    const s = openOciLayout(`${join(dir, 'oci')}:${tag}`);
    const blob = s.blob.bind(s);
    s.blob = async (d, o) => {
      const st = await blob(d, o);
      if (d.mediaType !== MT.ociLayerGzip) return st;
      most = Math.max(most, ++active);
      st.once('close', () => active--);
      return st;
    };
    return s;
  };
  const d = await diffImages(counted('a'), counted('b'), {
    mode: 'semantic',
    concurrency: 3,
    parserThreads: 2,
  });
  assert.deepEqual(
    d.files.changed.map((c) => c.path),
    ['app/big'],
  );
  assert.equal(most, 2);
});

test('a tar cut short inside a file body is LAYER_INVALID, on the calling thread and on a parser thread', async () => {
  const tar = await tarOf(layer(T1, big));
  const gz = gzipSync(tar.subarray(0, 1024 + 4096), { level: 1 });
  const path = join(dir, 'cut.tar.gz');
  await writeFile(path, gz);
  const f = verifiedFileAt(path, descriptorOf(blobOf(gz, MT.ociLayerGzip)));
  await assert.rejects(parseLayerFile(f), (e: unknown) => isTrustpinError(e, 'LAYER_INVALID'));
  const pool = new ParserPool(1);
  try {
    await assert.rejects(pool.parse(f, {}), (e: unknown) => isTrustpinError(e, 'LAYER_INVALID'));
  } finally {
    await pool.close();
  }
});

test('threads that cannot start hand every parse back at once (the reader parses in-thread), none hangs', async () => {
  const pool = new ParserPool(2, 'data:text/javascript,export {}');
  const f = await layerFile('nostart.tar.gz', layer(T1, 'small'));
  try {
    const first = await Promise.allSettled([pool.parse(f, {}), pool.parse(f, {}), pool.parse(f, {})]);
    for (const r of first) assert.ok(r.status === 'rejected' && parserLost(r.reason), String(r));
    await assert.rejects(pool.parse(f, {}), (e: unknown) => parserLost(e));
    assert.equal(pool.threads, 0);
  } finally {
    await pool.close();
  }
});

test('warm() starts every thread before the first job, and a warmed thread parses', async () => {
  const pool = new ParserPool(2);
  try {
    pool.warm();
    assert.equal(pool.threads, 2);
    pool.warm();
    assert.equal(pool.threads, 2, 'never more than the pool size');
    const l = await pool.parse(await layerFile('warm.tar.gz', layer(T1, 'w')), {});
    assert.equal(l.entries.length, 4);
    assert.equal(pool.threads, 2);
  } finally {
    await pool.close();
  }
  assert.equal(pool.threads, 0);
});
