// The zstd window cap holds for every frame of a layer, not only the first: frames follow one another (and
// skippable frames between them), and each header is checked before the decoder allocates its window.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { decompressor, MAX_ZSTD_WINDOW, ZstdFrames } from '../../../src/layer/decompress.js';

/** A frame with one raw block: magic, descriptor 0 (window byte follows, no checksum), window byte, block. */
function rawFrame(data: Buffer, windowByte = 0x00): Buffer {
  const h = (data.length << 3) | 1; // last block, raw
  return Buffer.concat([
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, windowByte, h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]),
    data,
  ]);
}
const skippable = (data: Buffer) => {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0x184d2a53, 0);
  h.writeUInt32LE(data.length, 4);
  return Buffer.concat([h, data]);
};
/** 2^30 × (1 + 7/8): 1.875 GiB, under fzstd's own 2 GiB refusal, so it would allocate it */
const HUGE = (20 << 3) | 7;

async function decode(chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const inBytes = chunks.reduce((n, c) => n + c.length, 0);
  // biome-ignore lint/suspicious/noExplicitAny: pipeline's overloads cannot type a spread of stages
  await (pipeline as (...s: any[]) => Promise<void>)(
    Readable.from(chunks),
    ...decompressor('zstd', () => inBytes, 'test layer'),
    async (s: AsyncIterable<Buffer>) => {
      for await (const c of s) out.push(c);
    },
  );
  return Buffer.concat(out);
}

test('a second frame that declares a 1.9 GiB window is SIZE_EXCEEDED, without allocating it', async () => {
  const layer = Buffer.concat([rawFrame(Buffer.from('hello')), rawFrame(Buffer.from('x'), HUGE)]);
  assert.ok(layer.length <= 32);
  const before = process.memoryUsage().arrayBuffers;
  await assert.rejects(decode([layer]), (e: { code?: string; message?: string }) => {
    assert.equal(e.code, 'SIZE_EXCEEDED');
    assert.match(e.message ?? '', /frame 2 needs a 2013265920-byte window/);
    return true;
  });
  assert.ok(process.memoryUsage().arrayBuffers - before < 256 * 1024 * 1024, 'no window was allocated');
});

test('the same frame after a skippable frame, or split byte by byte across chunks, is caught too', async () => {
  const layer = Buffer.concat([
    rawFrame(Buffer.from('hello')),
    skippable(Buffer.alloc(1000, 7)),
    rawFrame(Buffer.from('x'), HUGE),
  ]);
  await assert.rejects(decode([layer]), { code: 'SIZE_EXCEEDED' });
  const bytes = [...layer].map((b) => Buffer.from([b]));
  await assert.rejects(decode(bytes), { code: 'SIZE_EXCEEDED' });
  const scan = new ZstdFrames(MAX_ZSTD_WINDOW, 'scan');
  assert.throws(() => {
    for (const b of bytes) scan.scan(b);
  }, /frame 2/);
});

test('valid multi-frame streams with skippable frames and checksums decode in full', async (t) => {
  const ok = Buffer.concat([
    rawFrame(Buffer.from('hello ')),
    skippable(Buffer.from('ignored')),
    rawFrame(Buffer.from('world')),
  ]);
  assert.equal((await decode([ok])).toString(), 'hello world');
  let zstd: Buffer[];
  try {
    zstd = ['first frame\n'.repeat(5000), 'second frame\n'.repeat(7000)].map((s) =>
      execFileSync('zstd', ['-q', '-c', '--check'], { input: s }),
    );
  } catch {
    t.skip('no zstd binary');
    return;
  }
  const both = Buffer.concat(zstd);
  const scan = new ZstdFrames(MAX_ZSTD_WINDOW, 'scan');
  scan.scan(both);
  assert.equal(scan.frames, 2, 'the scanner follows the real encoder’s framing');
  const out = await decode([both.subarray(0, 7), both.subarray(7)]);
  assert.equal(out.toString(), `${'first frame\n'.repeat(5000)}${'second frame\n'.repeat(7000)}`);
});

test('a corrupt zstd layer is LAYER_INVALID, like a corrupt gzip one (its digest matched: the publisher pushed it)', async () => {
  // block type 3 is reserved
  const h = (4 << 3) | (3 << 1) | 1;
  const bad = Buffer.concat([
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]),
    Buffer.from('data'),
  ]);
  await assert.rejects(decode([bad]), (e: { code?: string; hint?: string }) => {
    assert.equal(e.code, 'LAYER_INVALID');
    assert.match(e.hint ?? '', /publisher pushed/);
    return true;
  });
});
