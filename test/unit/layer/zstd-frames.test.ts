// The zstd window cap holds for every frame of a layer, not only the first: frames follow one another (and
// skippable frames between them), and each header is checked before the decoder allocates its window.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { DEFAULT_LIMITS, decompressor, MAX_ZSTD_WINDOW, ZstdFrames } from '../../../src/layer/decompress.js';
import { rawFrame, skippable as skippableFrame } from '../../harness/zstd-frames.js';

const skippable = (data: Buffer) => skippableFrame(data, 3);
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

test('a zstd block that sends the decoder into an endless loop is LAYER_INVALID after zstdStallMs, not a hang', async () => {
  // found by the decompress long fuzz run: FSE-coded Huffman weights that take no bits, so fzstd decodes weights
  // forever (zstd itself refuses more than 255); the decoder runs in a worker thread that is stopped
  const bad = Buffer.from(
    [
      '28b52ffd04586d050022c81720f0034464998098742aa006d0f50039da2da553650215688032302ea09a01a2a355071e',
      'ab30072624010aa000182e817402900d560070ac5c8627a005c81d3e611880c52d061146be58a132c39a904b0965f6e6',
      '70c88c60260388c4294812a834d8259d82a44b63e821ffd853900458ab8e8428546250585840891bc311355f75f8b75d',
      'ab8e2b96b1bd0588b58b1d63998fdbeb08691e45fbcf41ff76c532021b006041a6020da0800f2808a0443a20f0034464',
      '998098742aa006d0f50039da2da553650215685b803230a09a01a2a355071eab30072624010aa000182e817402900d56',
      '0070ac5c8627a005c81d3e61',
    ].join(''),
    'hex',
  );
  const t = performance.now();
  const stages = decompressor('zstd', () => bad.length, 'test layer', {
    ...DEFAULT_LIMITS,
    zstdStallMs: 300,
  });
  await assert.rejects(
    (pipeline as (...s: unknown[]) => Promise<void>)(
      Readable.from([bad]),
      ...stages,
      async (s: AsyncIterable<Buffer>) => {
        for await (const _ of s);
      },
    ),
    (e: { code?: string; message?: string }) => {
      assert.equal(e.code, 'LAYER_INVALID');
      assert.match(e.message ?? '', /made no progress for 300 ms/);
      return true;
    },
  );
  assert.ok(performance.now() - t < 5000, `${(performance.now() - t).toFixed(0)} ms`);
});
