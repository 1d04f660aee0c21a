// `diff`'s tree and `unpack` must build the same rootfs from the same layers: the same layer stacks go through
// both and the file sets (type, content, link target per path) are compared. Each case is one on which they
// disagreed: an opaque whiteout of a missing directory, a write through a `..` symlink, whiteouts after a write
// through a lower directory, a device replacing a directory, hard links to themselves or below themselves.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setDifference, treeSet, unpackSet } from '../../attacks/agree.js';
import { type RawEntry, tarOf } from '../../attacks/layers.js';
import { makeTempDir, removeDir } from '../../harness/processes.js';

let tmp: string;
let n = 0;
before(async () => {
  tmp = await makeTempDir('unpack-agree');
});
after(() => removeDir(tmp));

async function agree(layers: RawEntry[][]): Promise<Map<string, string> | { error: string }> {
  const tars = await Promise.all(layers.map(tarOf));
  const a = await treeSet(tars);
  const b = await unpackSet(tars, join(tmp, `case${++n}`));
  assert.equal(setDifference(a, b), undefined);
  return a;
}

const paths = (s: Map<string, string> | { error: string }) => (s instanceof Map ? [...s.keys()] : s);

test('an opaque whiteout of a missing directory makes the directory, in both', async () => {
  const s = await agree([[{ name: 'etc/x', body: '1' }], [{ name: 'opt/sub/.wh..wh..opq' }]]);
  assert.deepEqual(paths(s), ['etc', 'etc/x', 'opt', 'opt/sub']);
});

test('an opaque whiteout where a lower layer has a file replaces it with the directory, in both', async () => {
  const s = await agree([
    [{ name: 'd', body: 'file' }],
    [{ name: 'd/.wh..wh..opq' }, { name: 'd/n', body: 'n' }],
  ]);
  assert.deepEqual(paths(s), ['d', 'd/n']);
});

test('a write through a symlink that climbs above the root stops at the root, in both', async () => {
  const s = await agree([
    [{ name: 'a/up', type: 'symlink', linkname: '../../../../etc' }],
    [{ name: 'a/up/passwd', body: 'p' }],
  ]);
  assert.deepEqual(paths(s), ['a', 'a/up', 'etc', 'etc/passwd']);
});

test('a whiteout of a lower directory that this layer wrote through hides only the lower children', async () => {
  const s = await agree([
    [
      { name: 'd/old', body: 'o' },
      { name: 'd/sub/old', body: 'o' },
    ],
    [{ name: 'd/new', body: 'n' }, { name: '.wh.d' }, { name: 'e/sub/new', body: 'n' }],
  ]);
  assert.deepEqual(paths(s), ['d', 'd/new', 'e', 'e/sub', 'e/sub/new']);
  await agree([
    [
      { name: 'd/sub/old', body: 'o' },
      { name: 'd/keep', body: 'k' },
    ],
    [{ name: 'd/sub/new', body: 'n' }, { name: 'd/.wh.sub' }],
  ]);
});

test('a device that replaces a lower directory removes it even when the device is skipped', async () => {
  const tars = await Promise.all(
    [
      [{ name: 'dev/x/lower', body: 'l' }],
      [{ name: 'dev/x', type: 'character-device', devmajor: 1, devminor: 3 }],
    ].map((l) => tarOf(l as RawEntry[])),
  );
  const b = await unpackSet(tars, join(tmp, `case${++n}`));
  assert.ok(b instanceof Map);
  assert.ok(!b.has('dev/x/lower'), 'the lower directory is gone');
});

test('hard links to themselves change nothing; to a path below themselves they are refused, in both', async () => {
  const s = await agree([[{ name: 'f', body: 'f' }], [{ name: 'f', type: 'link', linkname: 'f' }]]);
  assert.deepEqual(paths(s), ['f']);
  const r = await agree([[{ name: 'd/f', body: 'f' }], [{ name: 'd', type: 'link', linkname: 'd/f' }]]);
  assert.deepEqual(r, { error: 'LAYER_INVALID' });
});

test('a symlink with an empty target is LAYER_INVALID in both (symlink(2) could not make it)', async () => {
  const r = await agree([[{ name: 'l', type: 'symlink', linkname: '' }]]);
  assert.deepEqual(r, { error: 'LAYER_INVALID' });
});

// found by the unpack fuzz target: the tree applied a layer's whiteouts before its other entries, the unpacker
// applies them in tar order; now both do, hiding lower layers only
test('an opaque marker below a symlink made earlier in the same layer goes through it, in both', async () => {
  const s = await agree([
    [
      { name: 'A', type: 'symlink', linkname: '../a' },
      { name: 'A/.wh..wh..opq/.', type: 'directory' },
    ],
  ]);
  assert.deepEqual(paths(s), ['A', 'a']);
});

test('a whiteout below a file written earlier in the same layer fails in both', async () => {
  const s = await agree([
    [
      { name: 'b', body: '1' },
      { name: 'b/.wh.c/.', body: '1' },
    ],
  ]);
  assert.deepEqual(s, { error: 'LAYER_INVALID' });
});

test('a hard link to a device the unpacker skips is skipped too; a write below a device fails in both', async () => {
  const s = await agree([
    [{ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 }],
    [
      { name: 'null2', type: 'link', linkname: 'dev/null' },
      { name: 'f', body: 'f' },
    ],
  ]);
  assert.deepEqual(paths(s), ['dev', 'f']);
  const r = await agree([
    [
      { name: 'd', type: 'block-device', devmajor: 8 },
      { name: 'd/x', body: 'x' },
    ],
  ]);
  assert.deepEqual(r, { error: 'LAYER_INVALID' });
});
