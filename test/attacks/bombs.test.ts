// Decompression bombs, built streaming (never held in memory): 2 GiB of zeros as ~2 MiB of gzip members, a
// zstd stream of RLE blocks (32768:1), and a zstd frame that asks for a 2 GiB window. Each fails SIZE_EXCEEDED
// once the cap is reached (so at most the cap is ever written), and the rootfs is removed.
import assert from 'node:assert/strict';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { type Digest, digestOf } from '../../src/digest/index.js';
import { isTrustpinError } from '../../src/errors/index.js';
import { DEFAULT_LIMITS } from '../../src/layer/decompress.js';
import { MT } from '../../src/manifest/index.js';
import { pull } from '../../src/pull/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { openSource } from '../../src/source/open.js';
import { trustpin } from '../cli/run.js';
import { makeTempDir, removeDir } from '../harness/processes.js';
import { writeImage } from './layers.js';

const GiB = 1024 ** 3;
const BOMB = 2 * GiB;
let base: string;
const client = new RegistryClient();

before(async () => {
  base = await makeTempDir('bombs');
});
after(async () => {
  await client.close();
  await removeDir(base);
});

/** The 512-byte tar header of one regular file of `size` bytes (its body is the zeros that follow). */
async function tarHeader(name: string, size: number): Promise<Buffer> {
  const p = pack();
  const first = new Promise<Buffer>((res) => p.once('data', (c: unknown) => res(Buffer.from(c as Buffer))));
  p.entry({ name, size, mode: 0o644, mtime: new Date(0) });
  const h = (await first).subarray(0, 512);
  p.destroy();
  return h;
}

/** gzip members concatenated: the header, then the same 64 MiB-of-zeros member over and over (~64 KiB each). */
async function gzipBomb(path: string): Promise<number> {
  const out = createWriteStream(path);
  const zeros = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  let n = 0;
  const write = (b: Buffer) => {
    n += b.length;
    return new Promise<void>((res, rej) => out.write(b, (e) => (e ? rej(e) : res())));
  };
  await write(gzipSync(await tarHeader('zeros', BOMB)));
  for (let i = 0; i < BOMB / (64 * 1024 * 1024); i++) await write(zeros);
  await write(gzipSync(Buffer.alloc(1024)));
  await new Promise<void>((res) => out.end(res));
  return n;
}

/** A zstd frame: magic, descriptor, window byte, then blocks; RLE blocks are 4 bytes for 128 KiB of one byte. */
async function zstdBomb(windowByte = 0x38): Promise<Buffer> {
  const block = (type: number, size: number, last: boolean) => {
    const h = (size << 3) | (type << 1) | (last ? 1 : 0);
    return Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]);
  };
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, windowByte])];
  parts.push(block(0, 512, false), await tarHeader('zeros', BOMB));
  for (let i = 0; i < BOMB / 131072; i++) parts.push(block(1, 131072, false), Buffer.from([0]));
  parts.push(block(1, 1024, true), Buffer.from([0]));
  return Buffer.concat(parts);
}

/** An OCI layout around one layer file; the config's diff_id is not reached (the limit trips first). */
async function layout(dir: string, layer: Buffer, mediaType: string): Promise<string> {
  const diffId = digestOf(Buffer.from('not reached')) as Digest;
  return (await writeImage(dir, [{ blob: layer, mediaType, diffId }], 'bomb')).ref;
}

async function pullBomb(ref: string, dir: string, limits = DEFAULT_LIMITS) {
  const src = await openSource(ref, client);
  try {
    return await pull(src, { dest: join(dir, 'dest'), tag: 'x', unpack: join(dir, 'rootfs'), limits });
  } finally {
    await src.close();
  }
}

test('gzip bomb: 2 GiB of zeros in ~2 MiB → SIZE_EXCEEDED at --max-layer-bytes, nothing unpacked', async () => {
  const dir = join(base, 'gzip');
  await mkdir(dir);
  const file = join(dir, 'bomb.gz');
  const size = await gzipBomb(file);
  assert.ok(size < 3 * 1024 * 1024, `${size} bytes`);
  const ref = await layout(join(dir, 'src'), await readFile(file), MT.ociLayerGzip);
  const t = performance.now();
  await assert.rejects(
    pullBomb(ref, dir, { ...DEFAULT_LIMITS, maxBytes: 256 * 1024 * 1024 }),
    (e) => isTrustpinError(e, 'SIZE_EXCEEDED') && /decompresses to more than allowed/.test(e.message),
  );
  assert.ok(performance.now() - t < 15_000, 'stopped early, not after inflating 2 GiB');
  assert.ok(!existsSync(join(dir, 'rootfs')));
  // the CLI says the same, and exits 1
  const r = await trustpin(['pull', ref, '--dest', `oci:${dir}/cli`, '--max-layer-bytes', '256M']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /error\[SIZE_EXCEEDED\]: layer sha256:[0-9a-f]{64} decompresses to more than allowed/,
  );
});

test('zstd bomb (32768:1 RLE blocks) → SIZE_EXCEEDED by ratio with the default limits', async () => {
  const dir = join(base, 'zstd');
  await mkdir(dir);
  const bomb = await zstdBomb();
  assert.ok(bomb.length < 128 * 1024);
  const ref = await layout(join(dir, 'src'), bomb, MT.ociLayerZstd);
  await assert.rejects(
    pullBomb(ref, dir),
    (e) => isTrustpinError(e, 'SIZE_EXCEEDED') && /ratio ≤ 1000/.test(e.expected ?? ''),
  );
  assert.ok(!existsSync(join(dir, 'rootfs')));
});

test('a zstd frame asking for a 2 GiB window is refused before the decoder allocates it', async () => {
  const dir = join(base, 'window');
  await mkdir(dir);
  const ref = await layout(join(dir, 'src'), await zstdBomb((21 << 3) | 0), MT.ociLayerZstd);
  await assert.rejects(
    pullBomb(ref, dir),
    (e) => isTrustpinError(e, 'SIZE_EXCEEDED') && /window/.test(e.message),
  );
  assert.deepEqual(await readdir(dir), ['dest', 'src'], 'no rootfs');
});
