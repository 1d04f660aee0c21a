// The one diff_id tap: readLayer hashes exactly the decompressed tar (gzip, zstd, plain), whatever the sink does
// with the bytes, in the diff_id's own algorithm, and a bomb still stops it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../../../src/demo/build.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { readLayer } from '../../../src/layer/diff-id.js';
import { verifiedFileAt } from '../../../src/layer/verified-file.js';
import { MT } from '../../../src/manifest/index.js';

let dir: string;
let tar: Buffer;
const paths: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trustpin-diffid-'));
  // over 1 MiB, so the gzip feed goes round its two reused buffers several times
  tar = await makeTar([
    { path: 'a', content: randomBytes(3 * 1024 * 1024) },
    { path: 'b', content: 'small' },
  ]);
  paths.none = join(dir, 'layer.tar');
  paths.gzip = join(dir, 'layer.tar.gz');
  paths.zstd = join(dir, 'layer.tar.zst');
  await writeFile(paths.none, tar);
  await writeFile(paths.gzip, gzipSync(tar));
  try {
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 64 * 1024 * 1024 });
    await writeFile(paths.zstd, zst);
  } catch {
    // no zstd binary to make the fixture: that compression is left out, the others still run
    delete paths.zstd;
  }
  paths.bomb = join(dir, 'bomb.gz');
  await writeFile(paths.bomb, gzipSync(Buffer.alloc(8 * 1024 * 1024)));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = (p: string) =>
  verifiedFileAt(p, { mediaType: MT.ociLayer, digest: 'sha256:0' as never, size: 0 });
const sha = (algo: string, b: Buffer) => `${algo}:${createHash(algo).update(b).digest('hex')}`;

test('the diff_id is the digest of the decompressed tar, with or without a sink, for every compression', async () => {
  for (const kind of ['none', 'gzip', 'zstd'].filter((k) => paths[k])) {
    const drained = await readLayer(file(paths[kind]!));
    assert.deepEqual(drained, { diffId: sha('sha256', tar), size: tar.length }, kind);
    const seen: Buffer[] = [];
    const parsed = await readLayer(file(paths[kind]!), async (s) => {
      for await (const c of s) seen.push(c);
    });
    assert.deepEqual(parsed, drained, kind);
    assert.ok(Buffer.concat(seen).equals(tar), `${kind}: the sink sees exactly the hashed bytes`);
  }
});

test("the diff_id's own algorithm is used (a sha512 diff_id is checked as sha512)", async () => {
  const r = await readLayer(file(paths.gzip!), undefined, undefined, 'sha512');
  assert.equal(r.diffId, sha('sha512', tar));
});

test('the bomb guard still applies to the tap', async () => {
  await assert.rejects(
    readLayer(file(paths.bomb!), undefined, { maxBytes: 1024 * 1024, maxRatio: 1000 }),
    (e) => isTrustpinError(e, 'SIZE_EXCEEDED'),
  );
});
