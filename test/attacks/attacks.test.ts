// The attack corpus, each case a generated image pulled and unpacked in full: climbing names, absolute names,
// symlink-then-write (in one layer and across layers), hard links out, whiteouts of `..`, devices, setuid, case
// and Unicode collisions. After every case nothing outside the rootfs changed, and the error or warning is named.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ErrorCode, isTrustpinError } from '../../src/errors/index.js';
import { type PullResult, pull } from '../../src/pull/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { openSource } from '../../src/source/open.js';
import type { UnpackWarningCode } from '../../src/unpack/index.js';
import { trustpin } from '../cli/run.js';
import { makeTempDir, removeDir } from '../harness/processes.js';
import { gz, plain, type RawEntry, snapshot, tarOf, writeImage } from './layers.js';

let base: string;
/** must stay empty: every escape aims here */
let sentinel: string;
/** holds one file an attacker would like to link to or overwrite */
let outside: string;
let n = 0;
const client = new RegistryClient();

before(async () => {
  base = await makeTempDir('attacks');
  sentinel = join(base, 'sentinel');
  outside = join(base, 'outside');
  await mkdir(sentinel);
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'do not touch\n');
});
after(async () => {
  await client.close();
  await removeDir(base);
});

interface Case {
  dir: string;
  root: string;
  dest: string;
}

async function image(layers: RawEntry[][], compress = true): Promise<Case & { ref: string }> {
  const dir = join(base, `case${++n}`);
  const tars = await Promise.all(layers.map((l) => tarOf(l)));
  const img = await writeImage(join(dir, 'src'), tars.map(compress ? gz : plain));
  return { dir, ref: img.ref, root: join(dir, 'rootfs'), dest: join(dir, 'dest') };
}

async function pullUnpack(
  c: Case & { ref: string },
  extra: { preserveSetid?: boolean; allowDevices?: boolean } = {},
) {
  const src = await openSource(c.ref, client);
  try {
    return await pull(src, { dest: c.dest, tag: 'x', unpack: c.root, ...extra });
  } finally {
    await src.close();
  }
}

/** Nothing outside the case's rootfs moved: the sentinel is empty, the outside file intact and unlinked. */
async function untouched(): Promise<void> {
  assert.deepEqual(await readdir(sentinel), []);
  const st = await snapshot(outside);
  assert.deepEqual([...st.keys()], ['secret']);
  assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'do not touch\n');
  assert.equal(
    (await import('node:fs')).statSync(join(outside, 'secret')).nlink,
    1,
    'no hard link was made to it',
  );
}

async function rejected(layers: RawEntry[][], code: ErrorCode, match: RegExp): Promise<void> {
  const c = await image(layers);
  await assert.rejects(
    pullUnpack(c),
    (e) => isTrustpinError(e, code) && match.test(`${e.message} ${e.found}`),
  );
  await untouched();
  assert.ok(!existsSync(c.root), 'a failed unpack leaves no rootfs behind');
  const index = JSON.parse(
    await readFile(join(c.dest, 'index.json'), 'utf8').catch(() => '{"manifests":[]}'),
  );
  assert.deepEqual(index.manifests, [], 'a rejected image is not tagged');
}

async function warned(
  layers: RawEntry[][],
  code: UnpackWarningCode,
  extra: { preserveSetid?: boolean; allowDevices?: boolean } = {},
): Promise<{ r: PullResult; c: Case }> {
  const c = await image(layers);
  const r = await pullUnpack(c, extra);
  await untouched();
  assert.ok(
    r.unpack?.warnings.some((w) => w.code === code),
    `expected ${code}, got ${JSON.stringify(r.unpack?.warnings)}`,
  );
  return { r, c };
}

describe('names that climb out', () => {
  test('`../` → PATH_ESCAPE', () =>
    rejected([[{ name: '../sentinel/pwned', body: 'x' }]], 'PATH_ESCAPE', /climbs out of the root/));
  test('`a/../../` → PATH_ESCAPE', () =>
    rejected([[{ name: 'a/../../sentinel/pwned', body: 'x' }]], 'PATH_ESCAPE', /climbs out/));
  test('a PAX path that climbs (the header name looks harmless) → PATH_ESCAPE', () =>
    rejected(
      [[{ name: 'harmless', body: 'x', pax: { path: '../../sentinel/pwned' } }]],
      'PATH_ESCAPE',
      /climbs out/,
    ));
  test('an absolute name is written inside the root, with ABSOLUTE_PATH', async () => {
    const { c } = await warned([[{ name: `${sentinel}/pwned`, body: 'x' }]], 'ABSOLUTE_PATH');
    assert.ok(existsSync(join(c.root, sentinel, 'pwned')));
  });
});

describe('symlink, then write through it', () => {
  test('across layers, absolute target: resolved inside the root, SYMLINK_TRAVERSAL', async () => {
    const { c } = await warned(
      [[{ name: 'evil', type: 'symlink', linkname: sentinel }], [{ name: 'evil/passwd', body: 'root::0:0' }]],
      'SYMLINK_TRAVERSAL',
    );
    assert.ok(existsSync(join(c.root, sentinel, 'passwd')));
  });
  test('in one layer, absolute target: same', async () => {
    await warned(
      [
        [
          { name: 'evil', type: 'symlink', linkname: sentinel },
          { name: 'evil/passwd', body: 'root::0:0' },
        ],
      ],
      'SYMLINK_TRAVERSAL',
    );
  });
  // `..` stops at the root, as in a chroot (moby) or containerd's RootPath, and as the diff tree resolves it
  test('a relative target that climbs above the root stops at the root: written inside it, SYMLINK_TRAVERSAL', async () => {
    const { c } = await warned(
      [
        [{ name: 'a/b/evil', type: 'symlink', linkname: '../../../../../../../..' }],
        [{ name: `a/b/evil${sentinel}/passwd`, body: 'x' }],
      ],
      'SYMLINK_TRAVERSAL',
    );
    assert.equal(await readFile(join(c.root, sentinel, 'passwd'), 'utf8'), 'x');
  });
  test('a chain of symlinks that ends above the root: same', async () => {
    const { c } = await warned(
      [
        [
          { name: 'one', type: 'symlink', linkname: 'two/..' },
          { name: 'two', type: 'symlink', linkname: '../sentinel' },
          { name: 'one/x', body: 'x' },
        ],
      ],
      'SYMLINK_TRAVERSAL',
    );
    assert.equal(await readFile(join(c.root, 'x'), 'utf8'), 'x');
  });
  test('a file written over a symlink replaces the link, the target is untouched', async () => {
    const c = await image([
      [{ name: 'f', type: 'symlink', linkname: join(outside, 'secret') }],
      [{ name: 'f', body: 'mine' }],
    ]);
    await pullUnpack(c);
    await untouched();
    assert.equal(await readFile(join(c.root, 'f'), 'utf8'), 'mine');
  });
});

describe('hard links', () => {
  test('to `../` → PATH_ESCAPE', () =>
    rejected([[{ name: 'h', type: 'link', linkname: '../outside/secret' }]], 'PATH_ESCAPE', /climbs out/));
  test('to an absolute outside path → LAYER_INVALID (only files already in the root)', () =>
    rejected(
      [[{ name: 'h', type: 'link', linkname: join(outside, 'secret') }]],
      'LAYER_INVALID',
      /names nothing/,
    ));
  test('through a symlink to outside → LAYER_INVALID, nothing linked', () =>
    rejected(
      [
        [{ name: 'evil', type: 'symlink', linkname: outside }],
        [{ name: 'h', type: 'link', linkname: 'evil/secret' }],
      ],
      'LAYER_INVALID',
      /names nothing/,
    ));
});

describe('whiteouts', () => {
  test('`.wh..` (the directory itself) → PATH_ESCAPE', () =>
    rejected(
      [[{ name: 'a/x', body: '1' }], [{ name: 'a/.wh..' }]],
      'PATH_ESCAPE',
      /whiteout of the directory/,
    ));
  test('`.wh...` (its parent) → PATH_ESCAPE', () =>
    rejected([[{ name: 'a/x', body: '1' }], [{ name: 'a/.wh...' }]], 'PATH_ESCAPE', /whiteout/));
  test('a whiteout through a symlink to outside deletes nothing outside', async () => {
    const c = await image([
      [{ name: 'evil', type: 'symlink', linkname: outside }],
      [{ name: 'evil/.wh.secret' }],
    ]);
    await pullUnpack(c);
    await untouched();
  });
});

describe('devices, setuid, collisions', () => {
  test('a device node is skipped with DEVICE_SKIPPED without --allow-devices', async () => {
    const { c } = await warned(
      [[{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 }]],
      'DEVICE_SKIPPED',
    );
    assert.ok(!existsSync(join(c.root, 'dev/sda')));
  });
  test('setuid root shell → SETID_STRIPPED, mode without the bit', async () => {
    const { c } = await warned(
      [[{ name: 'bin/rootshell', body: '#!/bin/sh\n', mode: 0o4755 }]],
      'SETID_STRIPPED',
    );
    assert.equal((await snapshot(c.root)).get('bin/rootshell')?.mode, 0o755);
  });
  // here (a case-sensitive file system) the names are distinct files; a merging target refuses with
  // NAME_COLLISION (test/unit/unpack/case.test.ts, with the target's folding injected)
  test('case pair as a symlink trick (FOO/, foo → outside, FOO/x): distinct files here, nothing escapes', async () => {
    const c = await image([
      [
        { name: 'FOO/', type: 'directory' },
        { name: 'foo', type: 'symlink', linkname: sentinel },
        { name: 'FOO/x', body: 'x' },
      ],
    ]);
    const r = await pullUnpack(c);
    await untouched();
    assert.equal(r.unpack?.skipped, 0);
    assert.ok(existsSync(join(c.root, 'FOO/x')));
    assert.equal((await snapshot(c.root)).get('foo')?.type, 'symlink');
  });
  test('NFC/NFD pair (a file, a symlink → outside): distinct files here, nothing escapes', async () => {
    const c = await image([
      [
        { name: 'caf\u00e9', body: 'a' },
        { name: 'cafe\u0301', type: 'symlink', linkname: sentinel },
      ],
    ]);
    await pullUnpack(c);
    await untouched();
    const t = await snapshot(c.root);
    assert.equal(t.get('caf\u00e9')?.type, 'file');
    assert.equal(t.get('cafe\u0301')?.type, 'symlink');
  });
});

describe('broken layers', () => {
  test('a truncated tar (with a matching diff_id) → LAYER_INVALID', async () => {
    const tar = await tarOf([
      { name: 'big', body: Buffer.alloc(8192, 1) },
      { name: 'after', body: 'x' },
    ]);
    const dir = join(base, `case${++n}`);
    const img = await writeImage(join(dir, 'src'), [gz(tar.subarray(0, 4096))]);
    const c = { dir, ref: img.ref, root: join(dir, 'rootfs'), dest: join(dir, 'dest') };
    await assert.rejects(
      pullUnpack(c),
      (e) => isTrustpinError(e, 'LAYER_INVALID') && /not a valid tar/.test(e.message),
    );
    assert.ok(!existsSync(c.root));
    await untouched();
  });
  test('a layer whose tar is not its diff_id → DIGEST_MISMATCH naming the layer, pulled or unpacked', async () => {
    const good = await tarOf([{ name: 'a', body: 'a' }]);
    const evil = await tarOf([{ name: 'b', body: 'b' }]);
    const dir = join(base, `case${++n}`);
    const img = await writeImage(join(dir, 'src'), [gz(good), { ...gz(evil), diffId: gz(good).diffId }]);
    for (const unpack of [undefined, join(dir, 'rootfs')]) {
      const dest = join(dir, unpack ? 'dest-u' : 'dest');
      const src = await openSource(img.ref, client);
      await assert.rejects(
        pull(src, { dest, tag: 'x', unpack }),
        (e) =>
          isTrustpinError(e, 'DIGEST_MISMATCH') &&
          e.message.includes(`layer 1 of linux/amd64 (${img.layers[1]!.digest})`) &&
          e.expected === gz(good).diffId,
      );
      assert.ok(!existsSync(join(dest, 'index.json')), 'not tagged');
      assert.ok(!existsSync(join(dir, 'rootfs')));
    }
  });
  test('the CLI exits 1 and names the error', async () => {
    const c = await image([[{ name: '../sentinel/pwned', body: 'x' }]], false);
    const r = await trustpin(['pull', c.ref, '--dest', `oci:${c.dest}:x`, '--unpack', c.root]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error\[PATH_ESCAPE\]: layer 0 \(sha256:[0-9a-f]{64}\): entry "\.\.\/sentinel\/pwned" climbs out/,
    );
    await untouched();
  });
  test('the CLI prints named warnings and exits 0', async () => {
    const c = await image([[{ name: 'bin/su', body: 'x', mode: 0o4755 }]]);
    const r = await trustpin(['pull', c.ref, '--dest', `oci:${c.dest}:x`, '--unpack', c.root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning\[SETID_STRIPPED\]: layer 0: bin\/su: setuid removed \(mode 4755 → 755\)/);
  });
});
