// The flattened tree a container would see: whiteouts, opaque directories, implicit parents, writes through
// symlinks (clamped to the root), hard links, and the errors an unpacker would also hit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { FileTree } from '../../../src/layer/tree.js';
import { parsed, sha, treeOf } from './helpers.js';

const paths = (t: FileTree) => t.sorted().map((n) => n.path);

test('a whiteout deletes a file, or a directory with everything under it, from lower layers only', async () => {
  const t = await treeOf(
    [{ name: 'etc/' }, { name: 'etc/a', content: 'a' }, { name: 'etc/b', content: 'b' }, { name: 'var/' }],
    [{ name: 'etc/.wh.a' }, { name: 'var/lib/x', content: 'x' }],
    [{ name: '.wh.var' }, { name: 'etc/.wh.missing' }],
  );
  assert.deepEqual(paths(t), ['etc', 'etc/b']);
});

test('an opaque directory hides lower children but keeps its own, whatever the tar order', async () => {
  const t = await treeOf(
    [{ name: 'opt/' }, { name: 'opt/old1', content: '1' }, { name: 'opt/sub/old2', content: '2' }],
    // the marker comes after a sibling from the same layer: that sibling must survive
    [{ name: 'opt/' }, { name: 'opt/new', content: 'n' }, { name: 'opt/.wh..wh..opq' }],
  );
  assert.deepEqual(paths(t), ['opt', 'opt/new']);
  assert.equal(t.nodes.get('opt')!.layer, 1);
});

test('parents nobody described exist implicitly; a directory over a directory keeps its children', async () => {
  const t = await treeOf([{ name: 'a/b/c', content: 'c' }], [{ name: 'a/', mode: 0o700, uid: 5 }]);
  assert.deepEqual(paths(t), ['a', 'a/b', 'a/b/c']);
  assert.equal(t.nodes.get('a/b')!.implicit, true);
  assert.equal(t.nodes.get('a')!.mode, 0o700);
  assert.equal(t.nodes.get('a')!.implicit, undefined);
});

test('a file over a directory replaces the whole subtree', async () => {
  const t = await treeOf(
    [
      { name: 'd/x', content: 'x' },
      { name: 'd/y/z', content: 'z' },
    ],
    [{ name: 'd', content: 'f' }],
  );
  assert.deepEqual(paths(t), ['d']);
  assert.equal(t.nodes.get('d')!.type, 'file');
});

test('writes through a parent symlink land where the symlink points, never outside the root', async () => {
  const t = await treeOf(
    [
      { name: 'usr/lib/', type: 'directory' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'abs', type: 'symlink', linkname: '/usr/lib' },
      { name: 'up', type: 'symlink', linkname: '../../../etc' },
    ],
    [
      { name: 'lib/x', content: 'x' },
      { name: 'abs/y', content: 'y' },
      { name: 'up/passwd', content: 'p' },
    ],
    [{ name: 'lib/.wh.x' }],
  );
  assert.deepEqual(paths(t), ['abs', 'etc', 'etc/passwd', 'lib', 'up', 'usr', 'usr/lib', 'usr/lib/y']);
  assert.ok(t.notes.some((n) => n.includes('up/passwd') && n.includes('etc')));
});

test('symlink loops and files used as directories fail like an unpacker would', async () => {
  const loop = new FileTree();
  loop.applyLayer(
    0,
    await parsed([
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: 'a' },
    ]),
  );
  assert.throws(
    () => loop.applyLayer(1, [{ entry: { ...baseEntry, path: 'a/x' } }]),
    (e) => isTrustpinError(e, 'LAYER_INVALID') && /too many symlinks/.test(e.message),
  );
  await assert.rejects(
    treeOf([{ name: 'f', content: 'f' }], [{ name: 'f/x', content: 'x' }]),
    (e) => isTrustpinError(e, 'LAYER_INVALID') && e.expected!.includes('f to be a directory'),
  );
});

test('a hard link is its target: same content, recorded as a link; missing or directory targets fail', async () => {
  const t = await treeOf(
    [{ name: 'bin/busybox', content: 'BB', mode: 0o755 }],
    [{ name: 'bin/sh', type: 'link', linkname: 'bin/busybox', mode: 0o755 }],
  );
  const sh = t.nodes.get('bin/sh')!;
  assert.equal(sh.type, 'file');
  assert.equal(sh.sha256, sha('BB'));
  assert.equal(sh.hardlink, 'bin/busybox');
  await assert.rejects(treeOf([{ name: 'x', type: 'link', linkname: 'nope' }]), (e) =>
    isTrustpinError(e, 'LAYER_INVALID'),
  );
  await assert.rejects(treeOf([{ name: 'd/' }, { name: 'x', type: 'link', linkname: 'd' }]), (e) =>
    isTrustpinError(e, 'LAYER_INVALID'),
  );
});

test('device numbers and xattrs are kept', async () => {
  const t = await treeOf([
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'bin/ping', content: 'p', xattrs: { 'security.capability': 'cap_net_raw+ep' } },
  ]);
  assert.equal(t.nodes.get('dev/null')!.devmajor, 1);
  assert.equal(t.nodes.get('dev/null')!.devminor, 3);
  assert.deepEqual(t.nodes.get('bin/ping')!.xattrs, { 'security.capability': 'cap_net_raw+ep' });
});

test('replacing a large directory is linear, not quadratic', async () => {
  const t = new FileTree();
  const many = Array.from({ length: 50_000 }, (_, i) => ({
    entry: { ...baseEntry, path: `big/${i % 100}/f${i}` },
    sha256: 'x',
  }));
  const start = performance.now();
  t.applyLayer(0, many);
  t.applyLayer(1, [{ entry: { ...baseEntry, path: '.wh.big', whiteout: { kind: 'file', target: 'big' } } }]);
  assert.equal(t.nodes.size, 0);
  assert.ok(performance.now() - start < 2000, `took ${performance.now() - start} ms`);
});

const baseEntry = {
  path: '',
  type: 'file' as const,
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  xattrs: {},
};
