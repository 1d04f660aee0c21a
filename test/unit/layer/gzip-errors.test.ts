// A gzip data error (bad CRC, corrupt deflate, trailing garbage, truncation) in a verified layer is a coded
// LAYER_INVALID at once — it used to leave the reader waiting forever for a write callback zlib never calls.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../../../src/demo/build.js';
import { readLayer } from '../../../src/layer/diff-id.js';
import { verifiedFileAt } from '../../../src/layer/verified-file.js';
import { MT } from '../../../src/manifest/index.js';

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
