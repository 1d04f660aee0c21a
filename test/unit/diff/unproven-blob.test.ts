// A diff writes a registry's big layer blobs to disk unhashed and its parser thread proves each file's digest
// before it decompresses or parses a byte. A lying registry serves a layer of the right length with other bytes:
// shaped as a gzip bomb (a reader that inflated before it proved would hit the ratio cap, SIZE_EXCEEDED, not the
// digest check), or as another well-formed layer (one that never proved would report its files as compared).
// Either way: DIGEST_MISMATCH naming the descriptor's digest and the bytes served, no parse started, no temp file.
// The small-layer path (parsed on the calling thread, fetched through the verifying stream) is held to the same.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type BuiltImage, blobOf, descriptorOf } from '../../../src/demo/build.js';
import { MemoryRegistry } from '../../../src/demo/registry-server.js';
import { diffImages } from '../../../src/diff/diff.js';
import { LayerReader } from '../../../src/diff/flatten.js';
import {
  layerParsesStarted,
  PARSER_THREAD_MIN_BYTES,
  proveAndParseLayerFile,
} from '../../../src/diff/parse.js';
import { type Digest, digestOf } from '../../../src/digest/index.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { MT } from '../../../src/manifest/index.js';
import { RegistryClient } from '../../../src/registry/index.js';
import { openSource } from '../../../src/source/open.js';
import { type RawEntry, tarOf } from './helpers.js';

/** An image of one layer, gzip at level 0 (stored blocks: a layer's length depends only on its tar's length). */
async function storedImage(entries: RawEntry[]): Promise<{ img: BuiltImage; tar: Buffer }> {
  const tar = await tarOf(entries);
  const layer = blobOf(gzipSync(tar, { level: 0 }), MT.ociLayerGzip);
  const diffIds: Digest[] = [digestOf(tar)];
  const config = blobOf(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: [{ created_by: 'step 0' }],
      }),
    ),
    MT.ociConfig,
  );
  const manifest = blobOf(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: descriptorOf(config),
        layers: [descriptorOf(layer)],
      }),
    ),
    MT.ociManifest,
  );
  return {
    img: { platform: { os: 'linux', architecture: 'amd64' }, manifest, config, layers: [layer], diffIds },
    tar,
  };
}

describe('a diff proves a layer blob before it decompresses or parses it', () => {
  let reg: MemoryRegistry;
  let host: string;
  let dir: string;
  let tmp: string;
  const oldTmp = process.env.TMPDIR;
  const client = new RegistryClient({ maxBackoffMs: 20, credentials: async () => undefined });
  const content = randomBytes(PARSER_THREAD_MIN_BYTES + 1024 * 1024);
  const entries = (c: Buffer): RawEntry[] => [
    { name: 'app/' },
    { name: 'app/big', content: c.toString('latin1') },
  ];
  let big: BuiltImage;
  let small: BuiltImage;
  let other: BuiltImage;
  /** bytes served in place of a layer, by blob path */
  const lies = new Map<string, Buffer>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trustpin-unproven-'));
    tmp = join(dir, 'tmp');
    await mkdir(tmp);
    process.env.TMPDIR = tmp;
    big = (await storedImage(entries(content))).img;
    other = (await storedImage(entries(randomBytes(content.length)))).img;
    small = (await storedImage([{ name: 'etc/os', content: 'v1' }])).img;
    assert.ok(big.layers[0]!.size >= PARSER_THREAD_MIN_BYTES, 'the big layer takes the parser-thread path');
    assert.ok(small.layers[0]!.size < PARSER_THREAD_MIN_BYTES, 'the small one is parsed on this thread');
    reg = new MemoryRegistry();
    reg.push('t/big', big, '1');
    reg.push('t/other', other, '1');
    reg.push('t/small', small, '1');
    reg.hook = (_req, res, url) => {
      const lie = lies.get(url.pathname);
      if (!lie) return false;
      res.writeHead(200, { 'Content-Length': lie.length }).end(lie);
      return true;
    };
    host = await reg.listen();
  });
  after(async () => {
    if (oldTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = oldTmp;
    await reg.close();
    await client.close();
    await rm(dir, { recursive: true, force: true });
  });

  const layerPath = (repo: string, img: BuiltImage) => `/v2/${repo}/blobs/${img.layers[0]!.digest}`;
  const leftovers = async () => (await readdir(tmp)).filter((f) => f.startsWith('trustpin-'));
  const descriptor = (img: BuiltImage) => descriptorOf(img.layers[0]!);

  /** a gzip bomb (256 MiB of zeros, ~250 KiB) padded to exactly `size` bytes */
  const bombOf = (size: number) => {
    const z = gzipSync(Buffer.alloc(256 * 1024 * 1024));
    assert.ok(z.length < size);
    return Buffer.concat([z, Buffer.alloc(size - z.length)]);
  };
  /** another well-formed layer of the same length: the same tar with one byte of the file changed */
  const forgedOf = async (c: Buffer) => {
    const x = Buffer.from(c);
    x[1000] = (x[1000]! + 1) & 0xff;
    return gzipSync(await tarOf(entries(x)), { level: 0 });
  };

  test('control: an honest big layer from a registry is proven and parsed on a parser thread', async () => {
    lies.clear();
    const before = layerParsesStarted();
    const reader = new LayerReader({ parserThreads: 1 });
    const p = await reader.layer(await openSource(`${host}/t/big:1`, client), descriptor(big));
    assert.equal(p.fingerprint.diffId, big.diffIds[0]);
    assert.equal(layerParsesStarted(), before + 1, 'the counter sees a parse');
    assert.deepEqual(await leftovers(), []);
  });

  for (const [shape, served] of [
    ['a gzip bomb', () => bombOf(big.layers[0]!.size)],
    ['another well-formed layer', () => forgedOf(content)],
  ] as const) {
    test(`right length, wrong bytes (${shape}), big layer: DIGEST_MISMATCH, never parsed, no temp file`, async () => {
      const bytes = await served();
      assert.equal(bytes.length, big.layers[0]!.size);
      lies.set(layerPath('t/big', big), bytes);
      const before = layerParsesStarted();
      const reader = new LayerReader({ parserThreads: 1 });
      await assert.rejects(
        reader.layer(await openSource(`${host}/t/big:1`, client), descriptor(big)),
        (e) =>
          isTrustpinError(e, 'DIGEST_MISMATCH') &&
          e.expected === big.layers[0]!.digest &&
          e.found === digestOf(bytes),
      );
      assert.equal(layerParsesStarted(), before, 'no parse started on the unproven blob');
      assert.deepEqual(await leftovers(), [], 'no temp file left');
      lies.clear();
    });
  }

  test('the same lie in a whole diff: DIGEST_MISMATCH, nothing reported as compared, no temp file', async () => {
    lies.set(layerPath('t/big', big), await forgedOf(content));
    await assert.rejects(
      diffImages(await openSource(`${host}/t/other:1`, client), await openSource(`${host}/t/big:1`, client), {
        mode: 'semantic',
        parserThreads: 1,
      }),
      (e) => isTrustpinError(e, 'DIGEST_MISMATCH') && e.expected === big.layers[0]!.digest,
    );
    assert.deepEqual(await leftovers(), []);
    lies.clear();
  });

  test('a small layer (parsed on this thread) is proven before its parse too: DIGEST_MISMATCH, never parsed', async () => {
    lies.set(layerPath('t/small', small), randomBytes(small.layers[0]!.size));
    const before = layerParsesStarted();
    const reader = new LayerReader({ parserThreads: 1 });
    await assert.rejects(
      reader.layer(await openSource(`${host}/t/small:1`, client), descriptor(small)),
      (e) => isTrustpinError(e, 'DIGEST_MISMATCH') && e.expected === small.layers[0]!.digest,
    );
    assert.equal(layerParsesStarted(), before);
    assert.deepEqual(await leftovers(), []);
    lies.clear();
  });
});

test('the reader’s fallback (a parser thread died under the layer) proves the file before it parses', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trustpin-unproven-fallback-'));
  try {
    const { img, tar } = await storedImage([{ name: 'a', content: 'x'.repeat(4096) }]);
    const good = gzipSync(tar, { level: 0 });
    const d = descriptorOf(img.layers[0]!);
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(bomb.length > good.length, 'the lie is longer: the length check must come first');
    const at = async (name: string, bytes: Buffer) => {
      const path = join(dir, name);
      await writeFile(path, bytes);
      return { proven: false as const, path, descriptor: d, dispose: async () => undefined };
    };
    const before = layerParsesStarted();
    await assert.rejects(proveAndParseLayerFile(await at('long', bomb), {}), (e) =>
      isTrustpinError(e, 'SIZE_MISMATCH'),
    );
    const forged = Buffer.from(good);
    forged[good.length - 20] = forged[good.length - 20]! ^ 1;
    await assert.rejects(
      proveAndParseLayerFile(await at('forged', forged), {}),
      (e) => isTrustpinError(e, 'DIGEST_MISMATCH') && e.expected === d.digest && e.found === digestOf(forged),
    );
    assert.equal(layerParsesStarted(), before, 'neither was parsed');
    const p = await proveAndParseLayerFile(await at('good', good), {});
    assert.equal(p.fingerprint.diffId, img.diffIds[0]);
    assert.equal(layerParsesStarted(), before + 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
