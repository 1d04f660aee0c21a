// A pull writes a registry's layer bodies to disk unhashed and proves each blob's digest from the file (on a worker
// thread) before anything decompresses it. A lying registry serves a layer with the right length but other bytes —
// shaped as a gzip bomb, so a pull that inflated before it proved would hit the bomb cap (SIZE_EXCEEDED), not the
// digest check: the pull must fail with DIGEST_MISMATCH, without a decompression having started, and leave no
// blob, no temp file and no index.json behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type BuiltImage, buildImage } from '../../../src/demo/build.js';
import { MemoryRegistry } from '../../../src/demo/registry-server.js';
import { digestOf } from '../../../src/digest/index.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { decompressionsStarted } from '../../../src/layer/index.js';
import { pull } from '../../../src/pull/index.js';
import { RegistryClient } from '../../../src/registry/index.js';
import { openSource } from '../../../src/source/open.js';
import { makeTempDir, removeDir } from '../../harness/processes.js';

describe('a layer blob is proven before it is decompressed', () => {
  let reg: MemoryRegistry;
  let host: string;
  let tmp: string;
  let img: BuiltImage;
  let layer: BuiltImage['layers'][number];
  let bomb: Buffer;
  let n = 0;
  const client = new RegistryClient({ maxBackoffMs: 20, credentials: async () => undefined });

  before(async () => {
    tmp = await makeTempDir('pull-unproven');
    // one gzip layer, ~1 MiB compressed (random content does not compress)
    img = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [[{ path: 'r.bin', content: randomBytes(1024 * 1024) }]],
    });
    layer = img.layers[0]!;
    // 256 MiB of zeros gzip to ~250 KiB: a ratio far past the 1000:1 cap; padded to the layer's exact length
    const z = gzipSync(Buffer.alloc(256 * 1024 * 1024));
    assert.ok(z.length < layer.size, 'the bomb fits in the layer length');
    bomb = Buffer.concat([z, Buffer.alloc(layer.size - z.length)]);
    reg = new MemoryRegistry();
    reg.push('e2e/app', img, '1');
    host = await reg.listen();
  });
  after(async () => {
    await reg.close();
    await client.close();
    await removeDir(tmp);
  });

  const lie = () => {
    reg.hook = (_req, res, url) => {
      if (url.pathname !== `/v2/e2e/app/blobs/${layer.digest}`) return false;
      res.writeHead(200, { 'Content-Length': bomb.length }).end(bomb);
      return true;
    };
  };

  test('control: an honest layer is decompressed once (the counter sees it)', async () => {
    reg.hook = undefined;
    const before = decompressionsStarted();
    const dest = join(tmp, `dest${++n}`);
    const r = await pull(await openSource(`${host}/e2e/app:1`, client), { dest, tag: '1' });
    assert.equal(r.images[0]!.layers[0]!.diffId, img.diffIds[0]);
    assert.equal(decompressionsStarted(), before + 1);
    assert.ok(existsSync(join(dest, 'blobs', 'sha256', layer.digest.slice(7))));
  });

  test('a stored blob altered on disk (same length) is re-hashed, found wrong, and fetched again', async () => {
    reg.hook = undefined;
    const dest = join(tmp, `dest${++n}`);
    await pull(await openSource(`${host}/e2e/app:1`, client), { dest, tag: '1' });
    const file = join(dest, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(file, bytes);
    const gets = () => reg.requests.filter((q) => q.path === `/v2/e2e/app/blobs/${layer.digest}`).length;
    const before = gets();
    const r = await pull(await openSource(`${host}/e2e/app:1`, client), { dest, tag: '1' });
    assert.equal(gets(), before + 1, 'the altered blob was fetched again');
    assert.equal(r.blobs.fetched, 1);
    assert.equal(digestOf(await readFile(file)), layer.digest);
  });

  test('a body past the descriptor size (no Content-Length) is cut at the size: SIZE_EXCEEDED, nothing kept', async () => {
    let written = 0;
    reg.hook = (_req, res, url) => {
      if (url.pathname !== `/v2/e2e/app/blobs/${layer.digest}`) return false;
      res.writeHead(200); // chunked: the length is known only by counting
      const more = () => {
        // endless: stops only when the client goes away
        while (written < 64 * layer.size && res.write(randomBytes(64 * 1024))) written += 64 * 1024;
        if (!res.destroyed && written < 64 * layer.size) res.once('drain', more);
        else res.end();
      };
      more();
      return true;
    };
    const before = decompressionsStarted();
    const dest = join(tmp, `dest${++n}`);
    await assert.rejects(pull(await openSource(`${host}/e2e/app:1`, client), { dest, tag: '1' }), (e) =>
      isTrustpinError(e, 'SIZE_EXCEEDED'),
    );
    assert.ok(written < 16 * layer.size, `the client stopped reading (${written} bytes sent)`);
    assert.equal(decompressionsStarted(), before);
    assert.ok(!(await readdir(join(dest, 'blobs', 'sha256'))).includes(layer.digest.slice(7)));
    assert.ok(!existsSync(join(dest, 'blobs', '.tmp')));
    assert.ok(!existsSync(join(dest, 'index.json')));
  });

  for (const unpack of [false, true]) {
    test(`right length, wrong bytes (a gzip bomb): DIGEST_MISMATCH, never inflated, nothing kept${unpack ? ' (--unpack)' : ''}`, async () => {
      lie();
      const before = decompressionsStarted();
      const dest = join(tmp, `dest${++n}`);
      const root = join(tmp, `root${n}`);
      await assert.rejects(
        pull(await openSource(`${host}/e2e/app:1`, client), {
          dest,
          tag: '1',
          ...(unpack ? { unpack: root } : {}),
        }),
        (e) =>
          isTrustpinError(e, 'DIGEST_MISMATCH') && e.expected === layer.digest && e.found === digestOf(bomb),
      );
      assert.equal(decompressionsStarted(), before, 'no decompression started on the unproven blob');
      const stored = await readdir(join(dest, 'blobs', 'sha256'));
      assert.ok(!stored.includes(layer.digest.slice(7)), 'no blob under blobs/sha256 for it');
      assert.ok(!existsSync(join(dest, 'blobs', '.tmp')), 'no temp file left');
      assert.ok(!existsSync(join(dest, 'index.json')), 'nothing tagged');
      if (unpack) assert.deepEqual(await readdir(root).catch(() => []), [], 'nothing unpacked');
    });
  }
});
