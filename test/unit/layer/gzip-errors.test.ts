// A gzip data error (bad CRC, corrupt deflate, trailing garbage, truncation) in a verified layer is a coded
// LAYER_INVALID at once — it used to leave the reader waiting forever for a write callback zlib never calls.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../../../src/demo/build.js';
import { DEFAULT_LIMITS } from '../../../src/layer/decompress.js';
import { readLayer } from '../../../src/layer/diff-id.js';
import { verifiedFileAt } from '../../../src/layer/verified-file.js';
import { MT } from '../../../src/manifest/index.js';
import { unpackLayers } from '../../../src/unpack/index.js';

let dir: string;
const cases: Record<string, Buffer> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trustpin-gzerr-'));
  // over 1 MiB compressed-side reads, so the feed is mid-way through its buffers when zlib fails
  const tar = await makeTar([
    { path: 'a', content: randomBytes(3 * 1024 * 1024) },
    { path: 'b', content: 'small' },
  ]);
  const gz = gzipSync(tar);
  const flipped = Buffer.from(gz);
  flipped[2000]! ^= 0xff;
  flipped[2001]! ^= 0xff;
  cases['bad CRC'] = Buffer.concat([
    gz.subarray(0, gz.length - 8),
    Buffer.from([1, 2, 3, 4]),
    gz.subarray(-4),
  ]);
  cases['corrupt deflate'] = flipped;
  cases['trailing garbage'] = Buffer.concat([gz, Buffer.from('garbage!garbage!')]);
  cases.truncated = gz.subarray(0, gz.length - 100);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const within = <T>(p: Promise<T>, ms: number): Promise<T | 'hang'> =>
  Promise.race([p, new Promise<'hang'>((r) => setTimeout(() => r('hang'), ms))]);

for (const sink of ['drain', 'parser'] as const) {
  test(`every gzip data error is LAYER_INVALID within 2 s (${sink})`, async () => {
    for (const [name, bytes] of Object.entries(cases)) {
      const p = join(dir, `${name.replace(/ /g, '-')}.gz`);
      await writeFile(p, bytes);
      const f = verifiedFileAt(p, { mediaType: MT.ociLayer, digest: 'sha256:0' as never, size: 0 });
      const consume =
        sink === 'parser'
          ? async (s: AsyncIterable<Buffer>) => {
              for await (const _ of s);
            }
          : undefined;
      const r = await within(
        readLayer(f, consume).then(
          () => 'accepted',
          (e: { code?: string }) => e.code ?? String(e),
        ),
        2000,
      );
      assert.equal(r, 'LAYER_INVALID', name);
    }
  });
}

const workers = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;

test('a layer failing mid-unpack (size cap): the rootfs removed, nothing written or running after', async () => {
  // a large body keeps the sink waiting on the writer thread when the decompressor fails
  const tar = await makeTar([
    ...Array.from({ length: 200 }, (_, i) => ({ path: `d/f${i}`, content: randomBytes(700) })),
    { path: 'big', content: Buffer.alloc(96 * 1024 * 1024) },
    { path: 'after', content: 'x' },
  ]);
  const bytes = gzipSync(tar);
  const p = join(dir, 'unpack-size-cap.gz');
  await writeFile(p, bytes);
  const f = verifiedFileAt(p, {
    mediaType: MT.ociLayerGzip,
    digest: 'sha256:0' as never,
    size: bytes.length,
  });
  const rootfs = join(dir, 'rootfs-size-cap');
  const before0 = workers();
  const limits = { ...DEFAULT_LIMITS, maxBytes: 48 * 1024 * 1024 };
  const r = await within(
    unpackLayers([f], rootfs, { limits }).then(
      () => 'accepted',
      (e: { code?: string }) => e.code ?? String(e),
    ),
    20_000,
  );
  assert.equal(r, 'SIZE_EXCEEDED');
  await new Promise((res) => setTimeout(res, 500));
  assert.equal(
    existsSync(rootfs),
    false,
    'the rootfs was removed and nothing was written into it afterwards',
  );
  assert.equal(workers(), before0, 'no writer thread left running');
});

test('readLayer settles only after its sink has stopped (a failed layer is not cleaned up under a running sink)', async () => {
  const p = join(dir, 'sink.gz');
  await writeFile(p, cases['corrupt deflate']!);
  const f = verifiedFileAt(p, { mediaType: MT.ociLayerGzip, digest: 'sha256:0' as never, size: 0 });
  let sinkDone = false;
  // a sink that, like the unpacker waiting on its writer thread, is still busy when the stream fails
  const sink = async (s: AsyncIterable<Buffer>) => {
    try {
      for await (const _ of s);
    } catch {}
    await new Promise((res) => setTimeout(res, 200));
    sinkDone = true;
  };
  const r = await readLayer(f, sink).then(
    () => 'accepted',
    (e: { code?: string }) => e.code,
  );
  assert.equal(r, 'LAYER_INVALID');
  assert.equal(sinkDone, true, 'the sink had finished when readLayer rejected');
});

test('a closed file writer never starts another thread', async () => {
  const { FileWriter } = await import('../../../src/unpack/writer.js');
  const w = new FileWriter();
  const before0 = workers();
  await w.close();
  await assert.rejects(
    w.write(
      join(dir, 'late'),
      (async function* () {
        yield Buffer.from('late');
      })(),
      0o644,
      0,
      undefined,
    ),
  );
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(workers(), before0, 'no thread started after close()');
  assert.equal(existsSync(join(dir, 'late')), false);
});
