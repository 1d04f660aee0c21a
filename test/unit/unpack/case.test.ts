// Names that differ only by case or Unicode form: every one is unpacked on a case-sensitive file system (this
// one), and on a case-insensitive or normalising target (detected by a probe, or injected) the unpack is refused.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { pull } from '../../../src/pull/index.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { openSource } from '../../../src/source/open.js';
import { probeNameFolding, type UnpackOptions, unpackLayers } from '../../../src/unpack/index.js';
import { gz, layerFile, type RawEntry, tarOf, writeImage } from '../../attacks/layers.js';
import { makeTempDir, removeDir } from '../../harness/processes.js';

let tmp: string;
let n = 0;
before(async () => {
  tmp = await makeTempDir('unpack-case');
});
after(() => removeDir(tmp));

const NF = 'usr/include/linux/netfilter';
/** The five pairs the kernel's uapi headers really have, plus a directory pair and an NFC/NFD pair. */
const PAIRS = ['CONNMARK', 'DSCP', 'MARK', 'RATEEST', 'TCPMSS'];
const ENTRIES: RawEntry[] = [
  ...PAIRS.flatMap((p) => [
    { name: `${NF}/xt_${p}.h`, body: `target ${p}\n` },
    { name: `${NF}/xt_${p.toLowerCase()}.h`, body: `match ${p.toLowerCase()}\n` },
  ]),
  { name: `${NF}/xt_state.h`, body: 'state\n' },
  { name: 'FOO/', type: 'directory' },
  { name: 'FOO/upper', body: 'U' },
  { name: 'foo/lower', body: 'L' },
  { name: 'caf\u00e9', body: 'nfc' },
  { name: 'cafe\u0301', body: 'nfd' },
];

async function unpack(layers: RawEntry[][], opts: UnpackOptions = {}) {
  const dir = join(tmp, `case${++n}`);
  await mkdir(dir);
  const files = await Promise.all(
    layers.map(async (l, i) => layerFile(dir, `layer${i}.tar`, await tarOf(l))),
  );
  const root = join(dir, 'rootfs');
  return { root, r: await unpackLayers(files, root, opts) };
}

async function expectAll(root: string): Promise<void> {
  for (const e of ENTRIES) {
    if (e.type === 'directory') continue;
    assert.equal(await readFile(join(root, e.name), 'utf8'), e.body, e.name);
  }
}

test('the probe finds this file system case-sensitive and non-normalising, and leaves nothing behind', async () => {
  const dir = join(tmp, 'probe');
  await mkdir(dir);
  assert.deepEqual(await probeNameFolding(dir), { caseInsensitive: false, unicodeNormalizing: false });
  assert.deepEqual(await readdir(dir), []);
});

test('on a case-sensitive file system every case- or form-different name is unpacked with its own content', async () => {
  const { root, r } = await unpack([ENTRIES]);
  await expectAll(root);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.skipped, 0);
  assert.ok(!(await readdir(root)).some((x) => x.startsWith('.trustpin')), 'no probe file is left');
});

test('across layers too: a lower xt_DSCP.h and an upper xt_dscp.h both stay', async () => {
  const { root } = await unpack([
    [{ name: `${NF}/xt_DSCP.h`, body: 'target' }],
    [{ name: `${NF}/xt_dscp.h`, body: 'match' }],
  ]);
  assert.equal(await readFile(join(root, NF, 'xt_DSCP.h'), 'utf8'), 'target');
  assert.equal(await readFile(join(root, NF, 'xt_dscp.h'), 'utf8'), 'match');
});

test('pull --unpack of an image with the netfilter pairs keeps every file', async () => {
  const dir = join(tmp, `case${++n}`);
  const img = await writeImage(join(dir, 'src'), [gz(await tarOf(ENTRIES))]);
  const client = new RegistryClient();
  const src = await openSource(img.ref, client);
  try {
    const r = await pull(src, { dest: join(dir, 'dest'), unpack: join(dir, 'rootfs') });
    await expectAll(join(dir, 'rootfs'));
    assert.equal(r.unpack?.skipped, 0);
  } finally {
    await src.close();
    await client.close();
  }
});

test('on a case-insensitive target a collision refuses the unpack with NAME_COLLISION, listing every pair', async () => {
  const dir = join(tmp, `case${++n}`);
  await mkdir(dir);
  const file = await layerFile(dir, 'layer.tar', await tarOf(ENTRIES));
  const root = join(dir, 'rootfs');
  await assert.rejects(
    unpackLayers([file], root, { caseInsensitive: true, unicodeNormalizing: false }),
    (e) => {
      assert.ok(isTrustpinError(e, 'NAME_COLLISION'), String(e));
      for (const p of PAIRS) assert.match(e.found ?? '', new RegExp(`xt_${p.toLowerCase()}\\.h`));
      assert.match(e.found ?? '', /foo/, 'a colliding directory is a collision too');
      assert.doesNotMatch(e.found ?? '', /cafe/, 'case-insensitive only: the two forms are distinct');
      return true;
    },
  );
  assert.ok(!existsSync(root), 'a refused unpack leaves no partial rootfs');
});

test('on a normalising target only the NFC/NFD pair collides', async () => {
  await assert.rejects(
    unpack([ENTRIES], { caseInsensitive: false, unicodeNormalizing: true }),
    (e) =>
      isTrustpinError(e, 'NAME_COLLISION') &&
      /cafe\u0301/.test(e.found ?? '') &&
      !/xt_/.test(e.found ?? '') &&
      e.isVerificationFailure === false,
  );
});

test('on a case-insensitive target names that do not collide unpack as usual; a replacement is no collision', async () => {
  const { root, r } = await unpack(
    [[{ name: 'etc/Passwd', body: 'first' }], [{ name: 'etc/Passwd', body: 'second' }]],
    { caseInsensitive: true, unicodeNormalizing: true },
  );
  assert.equal(await readFile(join(root, 'etc/Passwd'), 'utf8'), 'second');
  assert.deepEqual(r.warnings, []);
});

test('on a case-insensitive target the symlink trick (FOO/, foo → outside, FOO/x) is refused, nothing escapes', async () => {
  const outside = join(tmp, `outside${++n}`);
  await mkdir(outside);
  await assert.rejects(
    unpack(
      [
        [
          { name: 'FOO/', type: 'directory' },
          { name: 'foo', type: 'symlink', linkname: outside },
          { name: 'FOO/x', body: 'x' },
        ],
      ],
      { caseInsensitive: true, unicodeNormalizing: false },
    ),
    (e) => isTrustpinError(e, 'NAME_COLLISION') && /foo = FOO/.test(e.found ?? ''),
  );
  assert.deepEqual(await readdir(outside), []);
});
