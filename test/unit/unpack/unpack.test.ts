// The unpacker on generated layers: OCI whiteouts (plain and opaque, lower layers only), replacement without
// following symlinks, modes, mtimes and owners, hard links, the setid/device/collision policies, cleanup.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { digestOf } from '../../../src/digest/index.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { type UnpackOptions, unpackLayers } from '../../../src/unpack/index.js';
import { layerFile, MTIME, type RawEntry, snapshot, tarOf } from '../../attacks/layers.js';
import { makeTempDir, removeDir } from '../../harness/processes.js';

let tmp: string;
let n = 0;
before(async () => {
  tmp = await makeTempDir('unpack-unit');
});
after(() => removeDir(tmp));

/** Unpack these layers into a fresh directory; returns it, the result and the layer files. */
async function unpack(layers: RawEntry[][], opts: UnpackOptions = {}) {
  const dir = join(tmp, `case${++n}`);
  await mkdir(dir);
  const files = await Promise.all(
    layers.map(async (l, i) => layerFile(dir, `layer${i}.tar`, await tarOf(l))),
  );
  const root = join(dir, 'rootfs');
  const r = await unpackLayers(files, root, opts);
  return { dir, root, r, tree: await snapshot(root) };
}

test('files, directories, symlinks and hard links with their modes and mtimes', async () => {
  const { root, tree } = await unpack([
    [
      { name: 'etc/', type: 'directory', mode: 0o750 },
      { name: 'etc/hosts', body: 'h\n', mode: 0o600 },
      { name: 'bin/tool', body: '#!/bin/sh\n', mode: 0o755 },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
      { name: 'bin/abs', type: 'symlink', linkname: '/etc/hosts' },
      { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
    ],
  ]);
  assert.equal(tree.get('etc')?.mode, 0o750);
  assert.equal(tree.get('etc/hosts')?.mode, 0o600);
  assert.equal(tree.get('bin')?.type, 'dir', 'a missing parent is created');
  assert.equal(tree.get('bin/alias')?.target, 'tool');
  assert.equal(tree.get('bin/abs')?.target, '/etc/hosts', 'absolute targets are kept as written');
  assert.equal(tree.get('bin/hard')?.ino, tree.get('bin/tool')?.ino);
  assert.equal((await lstat(join(root, 'etc/hosts'))).mtime.getTime(), MTIME.getTime());
  assert.equal((await lstat(join(root, 'etc'))).mtime.getTime(), MTIME.getTime(), 'dir mtimes set last');
});

test('whiteouts remove lower entries; an opaque marker keeps what its own layer wrote', async () => {
  const { tree, r } = await unpack([
    [
      { name: 'a/keep', body: '1' },
      { name: 'a/gone', body: '1' },
      { name: 'd/old/x', body: '1' },
      { name: 'o/lower', body: '1' },
    ],
    [
      { name: 'a/.wh.gone' },
      { name: 'd/.wh.old' },
      { name: 'o/', type: 'directory' },
      { name: 'o/new', body: '2' },
      { name: 'o/.wh..wh..opq' },
      { name: 'n/x', body: '2' },
      { name: 'n/.wh.x' },
    ],
  ]);
  assert.ok(tree.has('a/keep'));
  assert.ok(!tree.has('a/gone'));
  assert.ok(!tree.has('d/old'));
  assert.ok(tree.has('o/new'), 'opaque applies before its siblings, whatever their order');
  assert.ok(!tree.has('o/lower'));
  assert.ok(tree.has('n/x'), 'a whiteout never hides its own layer');
  assert.deepEqual(
    r.warnings.map((w) => w.code),
    ['WHITEOUT_IGNORED'],
  );
  assert.ok(![...tree.keys()].some((p) => p.includes('.wh.')), 'whiteout files are not written');
});

test('replacing never follows a symlink: a file over a symlink to outside replaces the link', async () => {
  const outside = join(tmp, 'outside-file');
  await writeFile(outside, 'precious\n');
  const { tree } = await unpack([
    [{ name: 'x', type: 'symlink', linkname: outside }],
    [{ name: 'x', body: 'new\n' }],
  ]);
  assert.equal(await readFile(outside, 'utf8'), 'precious\n');
  assert.equal(tree.get('x')?.type, 'file');
  assert.equal(tree.get('x')?.sha256, digestOf(Buffer.from('new\n')).slice(7));
});

test('a directory replaces a symlink to a directory, a file replaces a directory tree', async () => {
  const { tree } = await unpack([
    [
      { name: 'usr/lib/x', body: '1' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'tree/a/b', body: '1' },
    ],
    [
      { name: 'lib/', type: 'directory' },
      { name: 'lib/y', body: '2' },
      { name: 'tree', body: 'now a file' },
    ],
  ]);
  assert.equal(tree.get('lib')?.type, 'dir');
  assert.ok(tree.has('lib/y') && !tree.has('usr/lib/y'));
  assert.equal(tree.get('tree')?.type, 'file');
  assert.ok(!tree.has('tree/a'));
});

test('setuid/setgid are stripped with a warning, or kept with preserveSetid', async () => {
  const layer = [
    { name: 'bin/su', body: 'x', mode: 0o4755 },
    { name: 'shared/', type: 'directory' as const, mode: 0o2775 },
  ];
  const a = await unpack([layer]);
  assert.equal(a.tree.get('bin/su')?.mode, 0o755);
  assert.equal(a.tree.get('shared')?.mode, 0o2775, 'setgid on a directory only sets group inheritance');
  assert.equal(a.r.warnings[0]?.code, 'SETID_STRIPPED');
  const b = await unpack([layer], { preserveSetid: true });
  assert.equal(b.tree.get('bin/su')?.mode, 0o4755);
  assert.equal(b.r.warnings.length, 0);
});

test('names equal after case folding or NFC collide only on a target that merges them (NAME_COLLISION)', async () => {
  const layers: RawEntry[][] = [
    [
      { name: 'etc/Passwd', body: 'first' },
      { name: 'caf\u00e9', body: 'nfc' },
    ],
    [
      { name: 'etc/passwd', body: 'second' },
      { name: 'cafe\u0301', body: 'nfd' },
      { name: 'etc/Passwd', body: 'replaced' },
    ],
  ];
  const { tree, r } = await unpack(layers);
  assert.deepEqual(r.warnings, []);
  assert.equal(tree.get('etc/passwd')?.sha256, digestOf(Buffer.from('second')).slice(7));
  assert.equal(tree.get('etc/Passwd')?.sha256, digestOf(Buffer.from('replaced')).slice(7));
  await assert.rejects(
    unpack(layers, { caseInsensitive: true, unicodeNormalizing: true }),
    (e) => isTrustpinError(e, 'NAME_COLLISION') && /etc\/passwd = etc\/Passwd/.test(e.found ?? ''),
  );
});

test('hard links must name an existing non-directory inside the root', async () => {
  await assert.rejects(
    unpack([[{ name: 'h', type: 'link', linkname: 'missing' }]]),
    (e) => isTrustpinError(e, 'LAYER_INVALID') && /names nothing/.test(e.message),
  );
  await assert.rejects(
    unpack([
      [
        { name: 'd/', type: 'directory' },
        { name: 'h', type: 'link', linkname: 'd' },
      ],
    ]),
    (e) => isTrustpinError(e, 'LAYER_INVALID') && /a directory/.test(e.message),
  );
});

test('FIFOs are made; devices are skipped with DEVICE_SKIPPED unless allowed (and root)', async () => {
  const layer: RawEntry[] = [
    { name: 'run/pipe', type: 'fifo', mode: 0o600 },
    { name: 'dev/null2', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  ];
  const a = await unpack([layer]);
  assert.equal(a.tree.get('run/pipe')?.type, 'fifo');
  assert.ok(!a.tree.has('dev/null2'));
  assert.equal(a.r.warnings[0]?.code, 'DEVICE_SKIPPED');
  if (process.getuid?.() === 0) {
    const b = await unpack([layer], { allowDevices: true });
    assert.equal(b.tree.get('dev/null2')?.type, 'char');
  }
});

test('owners are kept when running as root', { skip: process.getuid?.() !== 0 }, async () => {
  const { tree } = await unpack([[{ name: 'home/u/f', body: 'x', uid: 1234, gid: 5678 }]]);
  assert.equal(tree.get('home/u/f')?.uid, 1234);
  assert.equal(tree.get('home/u/f')?.gid, 5678);
});

test('a non-empty target is refused; a failed unpack removes the rootfs it created', async () => {
  const dir = join(tmp, 'busy');
  await mkdir(dir);
  await writeFile(join(dir, 'x'), '');
  const f = await layerFile(tmp, 'ok.tar', await tarOf([{ name: 'a', body: '1' }]));
  await assert.rejects(unpackLayers([f], dir), (e) => isTrustpinError(e, 'USAGE'));
  const bad = await layerFile(
    tmp,
    'bad.tar',
    await tarOf([
      { name: 'a', body: '1' },
      { name: 'a/b', body: '2' },
    ]),
  );
  const root = join(tmp, 'fresh-root');
  await assert.rejects(unpackLayers([bad], root), (e) => isTrustpinError(e, 'LAYER_INVALID'));
  assert.ok(!existsSync(root));
});

test('the diff_id check sees the exact tar bytes, and a throw discards the rootfs', async () => {
  const tar = await tarOf([{ name: 'a', body: 'x' }]);
  const f = await layerFile(tmp, 'd.tar', tar);
  const seen: string[] = [];
  await unpackLayers([f], join(tmp, 'd-ok'), { check: (_i, d) => seen.push(d) });
  assert.deepEqual(seen, [digestOf(tar)]);
  const root = join(tmp, 'd-bad');
  await assert.rejects(
    unpackLayers([f], root, {
      check: () => {
        throw new Error('mismatch');
      },
    }),
    /mismatch/,
  );
  assert.ok(!existsSync(root));
});

test('files larger than the writer ring, thousands of small ones, gzip layers: every byte lands in order', async () => {
  const { gzipSync } = await import('node:zlib');
  const { randomBytes } = await import('node:crypto');
  const big = randomBytes(40 * 1024 * 1024); // 2.5 × the 16 MiB ring: wraps around it several times
  const small = Array.from({ length: 3000 }, (_, i) => Buffer.from(`file ${i}\n`.repeat(1 + (i % 50))));
  const layer0: RawEntry[] = [
    { name: 'big.bin', body: big },
    ...small.map((b, i) => ({ name: `d${i % 7}/f${i}`, body: b })),
  ];
  // the next layer replaces files the first one may still have queued, and hard-links a fresh one
  const layer1: RawEntry[] = [
    { name: 'd0/f0', body: 'replaced' },
    { name: 'd1/.wh.f1' },
    { name: 'fresh', body: 'fresh body' },
    { name: 'fresh-link', type: 'link', linkname: 'fresh' },
  ];
  const dir = join(tmp, `case${++n}`);
  await mkdir(dir);
  const files = [
    await layerFile(dir, 'l0.tar.gz', gzipSync(await tarOf(layer0))),
    await layerFile(dir, 'l1.tar.gz', gzipSync(await tarOf(layer1))),
  ];
  const root = join(dir, 'rootfs');
  const r = await unpackLayers(files, root);
  const tree = await snapshot(root);
  assert.equal(tree.get('big.bin')?.sha256, digestOf(big).slice(7));
  assert.equal(r.files, 3000 + 1 + 2);
  for (const i of [2, 999, 2999])
    assert.equal(tree.get(`d${i % 7}/f${i}`)?.sha256, digestOf(small[i]!).slice(7));
  assert.equal(await readFile(join(root, 'd0/f0'), 'utf8'), 'replaced');
  assert.equal(tree.has('d1/f1'), false, 'the whiteout removed a file the lower layer wrote');
  assert.equal(tree.get('fresh-link')?.ino, tree.get('fresh')?.ino);
});

test('a file the writer thread cannot create fails the unpack with IO_ERROR naming it, and nothing is left', async () => {
  const { FileWriter } = await import('../../../src/unpack/writer.js');
  const w = new FileWriter();
  const dir = join(tmp, `case${++n}`);
  await mkdir(dir);
  async function* body() {
    yield Buffer.from('x');
  }
  await w.write(join(dir, 'ok'), body(), 0o644, MTIME.getTime(), undefined);
  await w.write(join(dir, 'missing-parent', 'f'), body(), 0o644, MTIME.getTime(), undefined);
  await assert.rejects(
    w.drain(),
    (e: unknown) => isTrustpinError(e) && e.code === 'IO_ERROR' && /missing-parent\/f/.test(e.message),
  );
  await w.close();
  assert.equal(await readFile(join(dir, 'ok'), 'utf8'), 'x', 'the files before it were written');
});
