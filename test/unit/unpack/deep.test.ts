// Deep trees unpack, and a failure is reported as what it is: a 2000-deep directory replaced by a file used to
// overflow the stack in rmSync and come out as IO_ERROR ("check free space"); a bad header field is the layer's
// fault (LAYER_INVALID), never IO_ERROR; IO_ERROR is kept for system calls that fail, and names the path.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTar } from '../../../src/demo/build.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { ioError, removeTree } from '../../../src/unpack/fsops.js';
import { unpackLayers } from '../../../src/unpack/index.js';
import { layerFile, type RawEntry, tarOf } from '../../attacks/layers.js';
import { makeTempDir, removeDir } from '../../harness/processes.js';

let tmp: string;
let n = 0;
before(async () => {
  tmp = await makeTempDir('unpack-deep');
});
after(() => removeDir(tmp));

async function unpackTars(tars: Buffer[]) {
  const dir = join(tmp, `case${++n}`);
  await mkdir(dir);
  const files = await Promise.all(tars.map((t, i) => layerFile(dir, `layer${i}.tar`, t)));
  const root = join(dir, 'rootfs');
  return { root, r: await unpackLayers(files, root).catch((e: unknown) => e) };
}
const unpack = async (layers: RawEntry[][]) => unpackTars(await Promise.all(layers.map(tarOf)));

test('a valid image whose 2000-deep directory is replaced by a file unpacks', async () => {
  const deep = `${'d/'.repeat(2000)}f`;
  const { root, r } = await unpack([[{ name: deep, body: 'deep' }], [{ name: 'd', body: 'flat' }]]);
  assert.ok(!(r instanceof Error), String(r));
  assert.equal(await readFile(join(root, 'd'), 'utf8'), 'flat');
});

test('a failed unpack of a 2000-deep tree leaves nothing behind', async () => {
  const deep = `${'d/'.repeat(2000)}f`;
  const { root, r } = await unpack([
    [
      { name: deep, body: 'deep' },
      { name: 'x', type: 'link', linkname: 'nope' },
    ],
  ]);
  assert.ok(isTrustpinError(r, 'LAYER_INVALID'), String(r));
  assert.ok(!existsSync(root));
});

test('a bad mtime is LAYER_INVALID, not IO_ERROR', async () => {
  const tar = Buffer.from(await makeTar([{ path: 'a', content: 'x' }]));
  tar.fill(0, 136, 148).write('zzzzzzzzzzz', 136, 'latin1');
  tar.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const { r } = await unpackTars([tar]);
  assert.ok(isTrustpinError(r, 'LAYER_INVALID'), String(r));
});

test('IO_ERROR only for errno failures, naming the path with a hint that fits; anything else is INTERNAL', () => {
  const full = ioError(Object.assign(new Error('no space left'), { code: 'ENOSPC' }), '/r/a');
  assert.equal(full.code, 'IO_ERROR');
  assert.match(full.message, /\/r\/a/);
  assert.match(full.hint ?? '', /full/);
  assert.match(ioError(Object.assign(new Error('x'), { code: 'ENAMETOOLONG' }), '/r/b').hint ?? '', /longer/);
  const bug = ioError(new RangeError('Maximum call stack size exceeded'), '/r/c');
  assert.equal(bug.code, 'INTERNAL');
});

test('removeTree removes a 1000-deep tree without recursion, and never follows a symlink', async () => {
  const dir = join(tmp, 'rm');
  const outside = join(tmp, 'rm-outside');
  await mkdir(outside);
  const { writeFileSync, symlinkSync, mkdirSync } = await import('node:fs');
  writeFileSync(join(outside, 'keep'), 'k');
  let p = dir;
  mkdirSync(p);
  for (let i = 0; i < 1000; i++) {
    p = join(p, 'dd');
    mkdirSync(p);
  }
  symlinkSync(outside, join(p, 'link'));
  removeTree(dir);
  assert.ok(!existsSync(dir));
  assert.equal(await readFile(join(outside, 'keep'), 'utf8'), 'k');
});
