// Layer decompression as diff, pull and unpack run it (readLayer on a verified file): gzip and zstd streams that
// are truncated, corrupt, multi-member or multi-frame, with skippable frames, windows of any size, trailing
// garbage. Oracles: a coded error or a full read; the output never passes the byte cap; no frame's window over
// the cap is allocated (the worker's heap watchdog sees memory); it ends (the hang watchdog).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { digestOf } from '../../../src/digest/index.js';
import { type Limits, readLayer, verifiedFileAt } from '../../../src/layer/index.js';
import { MT } from '../../../src/manifest/index.js';
import { rawFrame, skippable } from '../../harness/zstd-frames.js';
import { bufferCodec, check, coded, defineTarget, mutatedBytes } from '../harness.js';
import { SEED_TARS } from './tar-gen.js';

/**
 * Corrupt gzip data hung readLayer (zlib never calls the failed write's callback; issue 11): set
 * FUZZ_GZIP_CORRUPT=0 to leave mutated gzip out when running against a tree without that fix.
 */
const GZIP_CORRUPT = process.env.FUZZ_GZIP_CORRUPT !== '0';

// a decoder stall is refused after 250 ms here (2 s by default), so a looping block is a coded error well inside
// the runner's 1 s per input
const LIMITS: Limits = {
  maxBytes: 16 * 1024 * 1024,
  maxRatio: 1000,
  maxZstdWindow: 8 * 1024 * 1024,
  zstdStallMs: 250,
};

function zstd(b: Buffer): Buffer {
  try {
    return execFileSync('zstd', ['-q', '-c', '--check'], { input: b });
  } catch {
    return rawFrame(b);
  }
}

const tar = SEED_TARS[0]!;
const half = tar.subarray(0, 1024);
const GZIP_SEEDS = [gzipSync(tar), Buffer.concat([gzipSync(half), gzipSync(tar.subarray(1024))])];
const ZSTD_SEEDS = [
  zstd(tar),
  Buffer.concat([zstd(half), skippable(Buffer.from('meta')), zstd(tar.subarray(1024))]),
  Buffer.concat([rawFrame(half), rawFrame(tar.subarray(1024), (20 << 3) | 7)]),
];

/** Frames and members stuck together: valid ones, windows of any size, skippable frames, garbage. */
const piece = fc.oneof(
  fc.constantFrom(...ZSTD_SEEDS, ...(GZIP_CORRUPT ? GZIP_SEEDS : [])),
  fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.nat(255)).map(([d, w]) => rawFrame(Buffer.from(d), w)),
  fc.uint8Array({ maxLength: 32 }).map((d) => skippable(Buffer.from(d))),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((d) => Buffer.from(d)),
);
const stuck = fc.array(piece, { minLength: 1, maxLength: 4 }).map((ps) => Buffer.concat(ps));

let dir: string | undefined;

export default defineTarget<Buffer>({
  name: 'decompress',
  description:
    'readLayer on gzip/zstd: truncated, corrupt, multi-frame, skippable, any window, trailing garbage; oracle: coded, capped',
  arbitrary: fc.oneof(
    { arbitrary: mutatedBytes(ZSTD_SEEDS, { maxOps: 4, random: false }), weight: 3 },
    ...(GZIP_CORRUPT
      ? [{ arbitrary: mutatedBytes(GZIP_SEEDS, { maxOps: 4, random: false }), weight: 3 }]
      : [{ arbitrary: fc.constantFrom(...GZIP_SEEDS), weight: 1 }]),
    { arbitrary: stuck, weight: 3 },
  ),
  async run(blob) {
    dir ??= mkdtempSync(join(tmpdir(), 'trustpin-fuzz-decompress-'));
    const path = join(dir, 'layer');
    writeFileSync(path, blob);
    const f = verifiedFileAt(path, { mediaType: MT.ociLayerGzip, digest: digestOf(blob), size: blob.length });
    const r = await coded(() => readLayer(f, undefined, LIMITS));
    if (r) check(r.size <= LIMITS.maxBytes, () => `read ${r.size} bytes past the cap`);
  },
  ...bufferCodec,
});
