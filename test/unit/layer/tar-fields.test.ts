// Number fields of a tar header that are not numbers (non-octal text) are LAYER_INVALID at once: a NaN size used
// to be an entry whose body never ends, a NaN mtime a crash in diff.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { makeTar } from '../../../src/demo/build.js';
import { walkTar } from '../../../src/layer/tar.js';

/** Overwrite a header field of the first entry and fix the header checksum, as a hostile publisher would. */
function patch(tar: Buffer, offset: number, length: number, text: string): Buffer {
  const b = Buffer.from(tar);
  b.fill(0, offset, offset + length).write(text, offset, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

const walk = async (tar: Buffer) => {
  for await (const { body } of walkTar(Readable.from([tar]), 'sha256:test')) {
    for await (const _ of body);
  }
};

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<'hang'>((r) => setTimeout(() => r('hang'), ms))]);

test('non-numeric size, mtime, mode, uid fields are LAYER_INVALID within 2 s', async () => {
  const tar = await makeTar([
    { path: 'a.txt', content: 'hello' },
    { path: 'b.txt', content: 'world' },
  ]);
  const fields: Record<string, [number, number]> = {
    size: [124, 12],
    mtime: [136, 12],
    mode: [100, 8],
    uid: [108, 8],
  };
  for (const [name, [off, len]] of Object.entries(fields)) {
    const r = await within(
      walk(patch(tar, off, len, 'zzzzzzz')).then(
        () => 'accepted',
        (e: { code?: string }) => e.code ?? String(e),
      ),
      2000,
    );
    assert.equal(r, 'LAYER_INVALID', name);
  }
  await walk(tar); // the unpatched tar is fine
});

/** A base-256 number field whose first byte is neither 0x80 nor 0xFF: tar-stream decodes it as null. */
function patchBytes(tar: Buffer, offset: number, bytes: number[]): Buffer {
  const b = Buffer.from(tar);
  b.fill(0, offset, offset + bytes.length);
  Buffer.from(bytes).copy(b, offset);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

test('number fields that decode as null (a bad base-256 marker) are LAYER_INVALID within 2 s, not an endless body', async () => {
  const tar = await makeTar([
    { path: 'a.txt', content: 'hello' },
    { path: 'b.txt', content: 'world' },
  ]);
  for (const [name, off, len] of [
    ['size', 124, 12],
    ['mode', 100, 8],
    ['uid', 108, 8],
    ['gid', 116, 8],
  ] as const) {
    const bad = patchBytes(tar, off, [0x81, ...Array(len - 1).fill(1)]);
    const r = await within(
      walk(bad).then(
        () => 'accepted',
        (e: { code?: string }) => e.code ?? String(e),
      ),
      2000,
    );
    assert.equal(r, 'LAYER_INVALID', name);
  }
});

test('a symlink target longer than maxPathLength is LAYER_INVALID before anything resolves it', async () => {
  const tar = await makeTar([{ path: 'l', type: 'symlink', linkname: 'a/'.repeat(3000) }]);
  await assert.rejects(walk(tar), (e: { code?: string; message?: string }) => {
    assert.equal(e.code, 'LAYER_INVALID');
    assert.match(e.message ?? '', /link target longer than 4096/);
    return true;
  });
});

test('a directory (or link, device) header that declares data is LAYER_INVALID within 2 s — its body never ended', async () => {
  const tar = await makeTar([
    { path: 'd/', type: 'directory' },
    { path: 'a.txt', content: 'hello' },
  ]);
  const r = await within(
    walk(patch(tar, 124, 12, '00000000053')).then(
      () => 'accepted',
      (e: { code?: string }) => e.code ?? String(e),
    ),
    2000,
  );
  assert.equal(r, 'LAYER_INVALID');
});

test('an archive that ends inside a body fails the body’s reader with LAYER_INVALID, not a stream error', async () => {
  const tar = await makeTar([{ path: 'a.txt', content: 'x'.repeat(5000) }]);
  await assert.rejects(walk(tar.subarray(0, 2048)), { code: 'LAYER_INVALID' });
});

test('a V7 tar (no ustar magic), which docker reads, is read too', async () => {
  const tar = Buffer.from(await makeTar([{ path: 'old.txt', content: 'v7' }]));
  tar.fill(0, 257, 265); // no magic, no version
  const b = patch(tar, 265, 0, '');
  const names: string[] = [];
  for await (const { entry, body } of walkTar(Readable.from([b]), 'sha256:test')) {
    names.push(entry.path);
    for await (const _ of body);
  }
  assert.deepEqual(names, ['old.txt']);
});
