// The worker that proves a gzip layer without a sink gives the answers of the main-thread reader — diff_id,
// size, progress, the caps (bytes and ratio), and every gzip error — with its allocation-free engine and with
// its stream-API fallback, on the inputs where gzip framing is subtle: several members, zero padding, garbage.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { digestOf } from '../../../src/digest/index.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import type { Limits } from '../../../src/layer/decompress.js';
import { readLayer, setGzipInWorker } from '../../../src/layer/diff-id.js';
import { setGzipWorkerEngine } from '../../../src/layer/gzip-worker.js';
import { verifiedFileAt } from '../../../src/layer/verified-file.js';
import { MT } from '../../../src/manifest/index.js';

let dir: string;
const tar = Buffer.concat([randomBytes(3 * 1024 * 1024 + 17), Buffer.alloc(5 * 1024 * 1024, 'log line\n')]);
const inputs: Record<string, Buffer> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trustpin-gzworker-'));
  const gz = gzipSync(tar);
  inputs.one = gz;
  inputs.members = Buffer.concat([gzipSync(tar.subarray(0, 1000)), gzipSync(tar.subarray(1000))]);
  inputs.padded = Buffer.concat([gz, Buffer.alloc(4096)]);
  inputs.garbage = Buffer.concat([gz, Buffer.from('garbage')]);
  inputs.truncated = gz.subarray(0, gz.length - 100);
  inputs.corrupt = Buffer.from(gz);
  inputs.corrupt[5000]! ^= 0xff;
  inputs.empty = gzipSync(Buffer.alloc(0));
  // 64 MiB of zeros: about 64 KiB compressed, a ratio over 1000 (the default cap)
  inputs.bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  for (const [k, b] of Object.entries(inputs)) await writeFile(join(dir, k), b);
});
after(async () => {
  setGzipInWorker(true);
  setGzipWorkerEngine('direct');
  await rm(dir, { recursive: true, force: true });
});

type Outcome = { diffId: string; size: number; read: number } | { code: string };

async function outcome(name: string, limits?: Limits): Promise<Outcome> {
  let read = 0;
  const f = verifiedFileAt(
    join(dir, name),
    { mediaType: MT.ociLayerGzip, digest: 'sha256:0' as never, size: 0 },
    { onRead: (n) => (read += n) },
  );
  try {
    const r = await readLayer(f, undefined, limits);
    return { ...r, read };
  } catch (e) {
    assert.ok(isTrustpinError(e), `${name}: a coded error, not ${e}`);
    return { code: e.code };
  }
}

const modes = [
  ['main thread', () => setGzipInWorker(false)],
  [
    'worker, direct',
    () => {
      setGzipInWorker(true);
      setGzipWorkerEngine('direct');
    },
  ],
  [
    'worker, stream API',
    () => {
      setGzipInWorker(true);
      setGzipWorkerEngine('stream');
    },
  ],
] as const;

test('every reader gives the same diff_id, size, progress and error codes', async () => {
  const capped: Limits = { maxBytes: 4 * 1024 * 1024, maxRatio: 1000 };
  // 8 MiB from about 3 MiB: a ratio over 2 once the text half is inflated
  const ratio: Limits = { maxBytes: 1024 ** 3, maxRatio: 2 };
  const seen: Record<string, Outcome[]> = {};
  for (const [mode, set] of modes) {
    set();
    const got: Outcome[] = [];
    for (const name of Object.keys(inputs)) got.push(await outcome(name));
    got.push(await outcome('one', capped), await outcome('one', ratio));
    seen[mode] = got;
  }
  const [main, ...others] = Object.values(seen);
  for (const [i, [mode]] of modes.entries()) if (i > 0) assert.deepEqual(others[i - 1], main, mode);
  // and the main thread's answers are the right ones
  const names = Object.keys(inputs);
  const at = (n: string) => main![names.indexOf(n)]!;
  const size = inputs.one!.length;
  assert.deepEqual(at('one'), { diffId: digestOf(tar), size: tar.length, read: size });
  assert.deepEqual(at('members'), { diffId: digestOf(tar), size: tar.length, read: inputs.members!.length });
  assert.deepEqual(at('padded'), { diffId: digestOf(tar), size: tar.length, read: inputs.padded!.length });
  assert.deepEqual(at('empty'), { diffId: digestOf(Buffer.alloc(0)), size: 0, read: inputs.empty!.length });
  assert.deepEqual(at('garbage'), { code: 'LAYER_INVALID' });
  assert.deepEqual(at('truncated'), { code: 'LAYER_INVALID' });
  assert.deepEqual(at('corrupt'), { code: 'LAYER_INVALID' });
  assert.deepEqual(at('bomb'), { code: 'SIZE_EXCEEDED' });
  assert.deepEqual(main!.at(-2), { code: 'SIZE_EXCEEDED' });
  assert.deepEqual(main!.at(-1), { code: 'SIZE_EXCEEDED' });
});

test('a gzip worker does not keep the process alive, and serves proofs in parallel', async () => {
  setGzipInWorker(true);
  setGzipWorkerEngine('direct');
  const all = await Promise.all([1, 2, 3, 4, 5].map(() => outcome('one')));
  for (const r of all)
    assert.deepEqual(r, { diffId: digestOf(tar), size: tar.length, read: inputs.one!.length });
});
