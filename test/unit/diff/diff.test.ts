// Whole-image diffs over OCI layouts: what strict mode sees and semantic mode forgives, the fast paths (layer
// blobs, proven diff_ids) and their limits (a config that lies about diff_ids), and temp files left behind.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { allBlobs, type BuiltImage, blobOf, descriptorOf } from '../../../src/demo/build.js';
import { diffImages, limitEntries } from '../../../src/diff/diff.js';
import { DIFF_FINDING_CODES, type DiffFinding } from '../../../src/diff/findings.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { MT } from '../../../src/manifest/index.js';
import { openOciLayout } from '../../../src/source/oci-layout.js';
import { writeOciLayout } from '../../harness/oci-layout-writer.js';
import { imageOf, type RawEntry, tarOf } from './helpers.js';

let dir: string;
let tmp: string;
const oldTmp = process.env.TMPDIR;
const images: Record<string, BuiltImage> = {};

const T1 = new Date('2024-01-01T00:00:00Z');
const T2 = new Date('2025-06-01T12:00:00Z');
const files = (mtime: Date): RawEntry[] => [
  { name: 'app/', mtime },
  { name: 'app/bin', content: 'binary v1', mode: 0o755, mtime },
  { name: 'app/conf', content: 'x=1', mtime },
  { name: 'app/link', type: 'symlink', linkname: 'bin', mtime },
];

/** The same image with other layer bytes (gzip level 1 instead of 6): other blobs, same diff_ids and config. */
function recompressed(img: BuiltImage, tars: Buffer[]): BuiltImage {
  const layers = tars.map((t) => blobOf(gzipSync(t, { level: 1 }), MT.ociLayerGzip));
  const m = JSON.parse(img.manifest.bytes.toString());
  m.layers = layers.map((l) => descriptorOf(l));
  return { ...img, layers, manifest: blobOf(Buffer.from(JSON.stringify(m)), MT.ociManifest) };
}

/** A config that claims another image's diff_ids over its own layers. */
function liar(claimFrom: BuiltImage, layersOf: BuiltImage): BuiltImage {
  const config = blobOf(claimFrom.config.bytes, MT.ociConfig);
  const m = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: descriptorOf(config),
    layers: layersOf.layers.map((l) => descriptorOf(l)),
  };
  return { ...layersOf, config, manifest: blobOf(Buffer.from(JSON.stringify(m)), MT.ociManifest) };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trustpin-diff-unit-'));
  tmp = join(dir, 'tmp');
  await rm(tmp, { recursive: true, force: true });
  await import('node:fs/promises').then((f) => f.mkdir(tmp));
  process.env.TMPDIR = tmp;
  images.base = await imageOf([files(T1)]);
  images.later = await imageOf([files(T2)], { created: '2025-06-01T12:00:00Z' });
  images.split = await imageOf([files(T1).slice(0, 2), files(T1).slice(2)], { history: ['step 0'] });
  images.reordered = await imageOf([[...files(T1)].reverse()]);
  images.opaque = await imageOf([[...files(T1), { name: 'app/.wh..wh..opq' }]]);
  images.attrs = await imageOf([
    [
      { name: 'app/', mtime: T1 },
      { name: 'app/bin', content: 'binary v1', mode: 0o700, uid: 1000, mtime: T1 },
      { name: 'app/conf', content: 'x=2', mtime: T1, xattrs: { 'user.k': 'v' } },
      { name: 'app/link', type: 'symlink', linkname: 'conf', mtime: T1 },
    ],
  ]);
  images.hardlink = await imageOf([
    [...files(T1), { name: 'app/bin2', type: 'link', linkname: 'app/bin', mtime: T1 }],
  ]);
  images.copy = await imageOf([
    [...files(T1), { name: 'app/bin2', content: 'binary v1', mode: 0o755, mtime: T1 }],
  ]);
  images.env = await imageOf([files(T1)], { env: ['PATH=/evil'] });
  images.rehistory = { ...images.base, ...(await rehistory(images.base)) };
  images.recompressed = recompressed(images.base, [await tarOf(files(T1))]);
  images.liar = liar(images.base, images.attrs);
  // a directory named like the word the old equality regex looked for, written through a symlink
  const viaLink = (mtime: Date): RawEntry[] => [
    { name: 'real/', mtime },
    { name: 'diff_id', type: 'symlink', linkname: 'real', mtime },
    { name: 'diff_id/x', content: 'same bytes', mtime },
  ];
  images.linkA = await imageOf([viaLink(T1)]);
  images.linkB = await imageOf([viaLink(T2)], { created: '2025-06-01T12:00:00Z' });
  images.liarSameFiles = liar(images.later, images.recompressed);
  images.hostile = await imageOf([
    files(T1),
    [
      { name: 'app/ok', content: 'fine' },
      { name: '../../etc/cron.d/x', content: '* * * * * root sh' },
    ],
  ]);
  await writeOciLayout(
    dir,
    Object.values(images).flatMap((i) => allBlobs(i)),
    Object.entries(images).map(([name, i]) => ({ name, target: i.manifest })),
  );
});
after(async () => {
  process.env.TMPDIR = oldTmp;
  await rm(dir, { recursive: true, force: true });
});

async function rehistory(img: BuiltImage): Promise<Pick<BuiltImage, 'config' | 'manifest'>> {
  const c = JSON.parse(img.config.bytes.toString());
  c.history[0].created_by = 'something else entirely';
  const config = blobOf(Buffer.from(JSON.stringify(c)), MT.ociConfig);
  const m = JSON.parse(img.manifest.bytes.toString());
  m.config = descriptorOf(config);
  return { config, manifest: blobOf(Buffer.from(JSON.stringify(m)), MT.ociManifest) };
}

const codes = (fs: DiffFinding[]) => fs.map((f) => f.code);

const diff = (a: string, b: string, mode: 'strict' | 'semantic' = 'strict') =>
  diffImages(openOciLayout(`${dir}:${a}`), openOciLayout(`${dir}:${b}`), { mode });

test('a rebuild at another time: strict sees every mtime and `created`, semantic sees the same content', async () => {
  const s = await diff('base', 'later');
  assert.equal(s.equal, false);
  assert.deepEqual(codes(s.differences), ['FILES_DIFFER', 'CREATED_DIFFERS', 'HISTORY_DIFFERS']);
  assert.equal(s.basis, 'files');
  assert.deepEqual(
    s.files.changed.map((c) => [c.path, c.what, c.class]),
    ['app', 'app/bin', 'app/conf', 'app/link'].map((p) => [p, ['mtime'], 'mtime-only']),
  );
  assert.ok(s.config.some((c) => c.field === 'created' && c.class === 'metadata'));
  assert.equal(s.history.equal, true);
  assert.equal(s.history.timestampsDiffer, true);
  const m = await diff('base', 'later', 'semantic');
  assert.equal(m.equal, true, m.summary);
  assert.deepEqual(m.differences, []);
  assert.deepEqual(m.files.ignored, { mtime: 4, layer: 0 });
  assert.match(
    m.summary,
    /same content: 4 paths compared \(ignored in semantic mode: 4 differ only in mtime\)/,
  );
});

test('the same tree cut into other layers, reordered, or with a redundant opaque marker: strict only', async () => {
  const split = await diff('base', 'split');
  assert.equal(split.equal, false);
  assert.ok(split.files.changed.every((c) => c.what.join() === 'layer' && c.class === 'layer-only'));
  assert.ok(split.files.layers.includes('layer count: 1 vs 2'));
  assert.deepEqual(codes(split.differences), ['FILES_DIFFER', 'LAYERS_DIFFER', 'HISTORY_DIFFERS']);
  const order = await diff('base', 'reordered');
  assert.deepEqual(codes(order.differences), ['LAYERS_DIFFER']);
  assert.deepEqual(order.files.changed, []);
  assert.deepEqual(order.files.layers, ['layer 0: the same 4 entries in another tar order']);
  const opq = await diff('base', 'opaque');
  assert.deepEqual(opq.files.layers, ['layer 0: other entries (4 vs 5, whiteouts included)']);
  for (const b of ['split', 'reordered', 'opaque'])
    assert.equal((await diff('base', b, 'semantic')).equal, true, b);
});

test('mode, owner, content, link and xattrs are named per path, in both modes', async () => {
  for (const mode of ['strict', 'semantic'] as const) {
    const d = await diff('base', 'attrs', mode);
    assert.equal(d.equal, false);
    const what = Object.fromEntries(d.files.changed.map((c) => [c.path, c.what]));
    assert.deepEqual(what, {
      'app/bin': ['mode', 'owner'],
      'app/conf': ['content', 'xattrs'],
      'app/link': ['link'],
    });
    assert.equal(d.files.changed.find((c) => c.path === 'app/conf')!.class, 'same-size-content');
  }
});

test('a hard link and a copy with the same bytes: the same content, a different link structure', async () => {
  assert.equal((await diff('hardlink', 'copy', 'semantic')).equal, true);
  const s = await diff('hardlink', 'copy');
  assert.deepEqual(
    s.files.changed.map((c) => [c.path, c.what]),
    [['app/bin2', ['link']]],
  );
});

test('an Env change is a behaviour difference even when the files are the same', async () => {
  const d = await diff('base', 'env', 'semantic');
  assert.equal(d.equal, false);
  assert.deepEqual(
    d.differences.map((f) => [f.code, f.detail]),
    [['CONFIG_DIFFERS', { fields: ['config.Env'] }]],
  );
  assert.deepEqual(
    d.config.map((c) => [c.field, c.class]),
    [['config.Env', 'behaviour']],
  );
});

test('same layer blobs: same content by digest, nothing read; a rewritten history is only metadata', async () => {
  const d = await diff('base', 'rehistory', 'semantic');
  assert.equal(d.basis, 'layers');
  assert.equal(d.layersRead, 0);
  assert.equal(d.equal, true);
  assert.equal(d.history.equal, false);
  assert.equal(d.history.finding.code, 'HISTORY_DIFFERS');
  assert.deepEqual(d.differences, [], 'semantic mode: history is not a difference');
  const strict = await diff('base', 'rehistory');
  assert.equal(strict.equal, false, 'strict mode compares the history too');
  assert.deepEqual(codes(strict.differences), ['HISTORY_DIFFERS']);
});

test('recompressed layers: the claimed diff_ids are proven from the blobs before "same content" is said', async () => {
  const d = await diff('base', 'recompressed');
  assert.equal(d.basis, 'diff_ids');
  assert.equal(d.layersRead, 2);
  assert.equal(d.equal, true);
});

test('a config that lies about its diff_ids is caught, and the files are compared anyway', async () => {
  const d = await diff('base', 'liar', 'semantic');
  assert.equal(d.basis, 'files');
  assert.equal(d.equal, false);
  assert.ok(d.warnings.some((w) => w.code === 'DIFF_ID_MISMATCH' && w.side === 'B'));
  assert.ok(d.files.changed.length > 0);
  assert.equal(d.history.forged, true, 'same history (the config is a copy), other files');
  assert.equal(d.history.finding.code, 'FORGED_HISTORY');
  assert.ok(codes(d.differences).includes('DIFF_ID_MISMATCH'));
});

test('a config that lies about diff_ids over the same files is still not equal: the lie is a difference', async () => {
  const d = await diff('base', 'liarSameFiles', 'semantic');
  assert.equal(d.basis, 'files');
  assert.deepEqual(d.files.counts, { added: 0, removed: 0, changed: 0, compared: 4 });
  assert.equal(d.equal, false);
  assert.deepEqual(
    d.differences.map((f) => [f.code, f.side]),
    [['DIFF_ID_MISMATCH', 'B']],
  );
});

test('equality is decided from data: a path named diff_id in a warning does not make equal images differ', async () => {
  const d = await diff('linkA', 'linkB', 'semantic');
  assert.equal(d.basis, 'files');
  assert.deepEqual(
    d.warnings.map((w) => [w.code, w.side]),
    [
      ['SYMLINK_TRAVERSAL', 'A'],
      ['SYMLINK_TRAVERSAL', 'B'],
    ],
  );
  assert.equal(d.equal, true, JSON.stringify(d.warnings));
});

test('every code diff emits is in the closed list', async () => {
  for (const [a, b, mode] of [
    ['base', 'later', 'strict'],
    ['base', 'liar', 'semantic'],
    ['base', 'base', 'strict'],
    ['linkA', 'linkB', 'strict'],
    ['base', 'env', 'strict'],
  ] as const) {
    const d = await diff(a, b, mode);
    for (const f of [...d.warnings, ...d.differences, d.history.finding])
      assert.ok((DIFF_FINDING_CODES as readonly string[]).includes(f.code), f.code);
  }
});

test('the same manifest is identical by digest; --max-entries caps lists but not counts', async () => {
  const d = await diff('base', 'base');
  assert.equal(d.basis, 'digest');
  assert.equal(d.history.finding.code, 'HISTORY_NOT_READ');
  assert.equal(d.layersRead, 0);
  const big = limitEntries(await diff('base', 'later'), 2);
  assert.equal(big.files.changed.length, 2);
  assert.equal(big.files.counts.changed, 4);
  assert.equal(big.files.truncated, true);
});

test('a hostile layer stops the diff with its error, and no temp blob file outlives any diff', async () => {
  await assert.rejects(diff('base', 'hostile'), (e) => isTrustpinError(e, 'PATH_ESCAPE'));
  assert.deepEqual(await readdir(tmp), []);
});
