// `trustpin diff` against the real registry: seed 002's forged history (demo/liar vs demo/app), a rebuild that
// only moved timestamps (strict vs --semantic), whiteouts checked against `umoci unpack`, and the fast paths
// across transports proven by the registry's own access log (no blob fetched).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allBlobs, buildImage, type FileSpec } from '../../src/demo/build.js';
import { flattenImage } from '../../src/diff/flatten.js';
import { imageManifest, walkImage } from '../../src/image/walk.js';
import type { TreeNode } from '../../src/layer/tree.js';
import { RegistryClient } from '../../src/registry/client.js';
import { readConfig } from '../../src/source/helpers.js';
import { openSource } from '../../src/source/open.js';
import { trustpin } from '../cli/run.js';
import {
  makeTempDir,
  type RunningRegistry,
  requireBinary,
  run,
  type SeededImages,
  seedRegistry,
  startRegistry,
  writeOciLayout,
} from '../harness/index.js';
import { imageOf, type RawEntry } from '../unit/diff/helpers.js';

const T0 = new Date('2024-03-01T10:00:00Z');
/** Two layers over a base: a deleted file, an opaque directory, a deleted directory, writes through a symlink. */
const WHITEOUT_LAYERS: RawEntry[][] = [
  [
    { name: 'etc/', mtime: T0 },
    { name: 'etc/keep', content: 'v1', mtime: T0 },
    { name: 'etc/gone', content: 'bye', mtime: T0 },
    { name: 'opt/', mtime: T0 },
    { name: 'opt/old1', content: 'o1', mtime: T0 },
    { name: 'opt/sub/', mtime: T0 },
    { name: 'opt/sub/old2', content: 'o2', mtime: T0 },
    { name: 'usr/', mtime: T0 },
    { name: 'usr/bin/', mtime: T0 },
    { name: 'usr/bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755, uid: 1000, gid: 1000, mtime: T0 },
    { name: 'usr/bin/tool2', type: 'link', linkname: 'usr/bin/tool', mode: 0o755, mtime: T0 },
    { name: 'bin', type: 'symlink', linkname: 'usr/bin', mtime: T0 },
    { name: 'up', type: 'symlink', linkname: '../../..', mtime: T0 },
    { name: 'var/', mtime: T0 },
    { name: 'var/cache/', mtime: T0 },
    { name: 'var/cache/x', content: 'x', mtime: T0 },
  ],
  [
    { name: 'etc/', mtime: T0 },
    { name: 'etc/.wh.gone', mtime: T0 },
    { name: 'etc/keep', content: 'v2', mode: 0o600, mtime: T0 },
    { name: 'opt/', mode: 0o750, mtime: T0 },
    { name: 'opt/new', content: 'n', mtime: T0 },
    { name: 'opt/.wh..wh..opq', mtime: T0 },
    { name: 'var/', mtime: T0 },
    { name: 'var/.wh.cache', mtime: T0 },
    { name: 'bin/added', content: 'through the symlink', mtime: T0 },
    { name: 'up/escaped', content: 'clamped to the root', mtime: T0 },
  ],
  [{ name: 'srv/data/deep/file', content: 'deep', mtime: T0 }],
];

/** One build of the same files at `when`: only mtimes and `created` move. */
const build = (when: Date) => {
  const files: FileSpec[] = [
    { path: 'app', type: 'directory', mtime: when },
    { path: 'app/server', content: 'server binary', mode: 0o755, mtime: when },
    { path: 'app/config.yml', content: 'port: 8080\n', mtime: when },
  ];
  return buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [files],
    created: when.toISOString(),
    history: ['COPY app /app'],
  });
};

describe('trustpin diff', () => {
  let reg: RunningRegistry;
  let images: SeededImages;
  let layout: string;
  let tmp: string;
  const blobGets = async () =>
    (await readFile(reg.process.logFile, 'utf8'))
      .split('\n')
      .filter((l) => /"GET \/v2\/[^"]*\/blobs\//.test(l)).length;
  const diff = async (...args: string[]) => {
    const r = await trustpin(['--json', 'diff', ...args], { env: { TMPDIR: tmp } });
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}${r.stdout}`);
    return { code: r.code, j: JSON.parse(r.stdout) };
  };

  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    images = await seedRegistry(reg);
    layout = await makeTempDir('diff-layout');
    tmp = await makeTempDir('diff-tmp');
    const [monday, friday, whiteouts] = await Promise.all([
      build(new Date('2024-05-06T09:00:00Z')),
      build(new Date('2024-05-10T17:30:00Z')),
      imageOf(WHITEOUT_LAYERS),
    ]);
    await writeOciLayout(
      layout,
      [...allBlobs(monday), ...allBlobs(friday), ...allBlobs(whiteouts)],
      [
        { name: 'monday', target: monday.manifest },
        { name: 'friday', target: friday.manifest },
        { name: 'whiteouts', target: whiteouts.manifest },
      ],
    );
    const skopeo = requireBinary('skopeo', 'skopeo');
    const push = (tag: string, repo: string) =>
      run(skopeo, [
        'copy',
        '--insecure-policy',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${layout}:${tag}`,
        `docker://${reg.host}/${repo}`,
      ]);
    await Promise.all([
      push('monday', 'rebuild/app:monday'),
      push('friday', 'rebuild/app:friday'),
      push('whiteouts', 'whiteouts/app:1'),
    ]);
  });
  after(async () => {
    await reg?.stop();
  });

  test("seed 002: the liar's history equals demo/app's, its file does not → loud flag, exit 1", async () => {
    const { code, j } = await diff(images.demoLiar.ref, images.demoAppAmd64.ref);
    assert.equal(code, 1);
    assert.equal(j.equal, false);
    assert.equal(j.mode, 'strict');
    assert.equal(j.a.reference, `docker://${images.demoLiar.ref}`);
    assert.equal(j.a.digest, images.demoLiar.digest);
    assert.equal(j.b.digest, images.demoAppAmd64.digest);
    assert.deepEqual(j.files.added, []);
    assert.deepEqual(j.files.removed, []);
    assert.deepEqual(
      j.files.changed.map((c: { path: string; what: string[] }) => [c.path, c.what]),
      [['app/hello.txt', ['content']]],
    );
    assert.deepEqual(j.config, []);
    assert.equal(j.history.equal, true);
    assert.equal(j.history.forged, true);
    assert.equal(j.history.finding.code, 'FORGED_HISTORY');
    assert.deepEqual(
      j.differences.map((f: { code: string }) => f.code),
      ['FILES_DIFFER'],
    );
    // the text view says it too, and an index on one side takes the single image's platform
    const text = await trustpin(['diff', '--semantic', images.demoApp.ref, images.demoLiar.ref]);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^DIFFERENT \(semantic\): 0 added, 0 removed, 1 changed/);
    assert.match(text.stdout, /~ app\/hello\.txt {2}content 33 B → 55 B/);
    assert.match(text.stdout, /History \(unproven metadata\):\n {2}!! HISTORY EQUAL, CONTENT DIFFERS/);
  });

  test('two builds of the same files days apart: different in strict mode, equal with --semantic', async () => {
    const a = `${reg.host}/rebuild/app:monday`;
    const b = `${reg.host}/rebuild/app:friday`;
    const strict = await diff(a, b);
    assert.equal(strict.code, 1);
    assert.deepEqual(
      strict.j.files.changed.map((c: { path: string; what: string[] }) => [c.path, c.what.join()]),
      [
        ['app', 'mtime'],
        ['app/config.yml', 'mtime'],
        ['app/server', 'mtime'],
      ],
    );
    assert.ok(strict.j.config.some((c: { field: string }) => c.field === 'created'));
    assert.ok(strict.j.differences.some((f: { code: string }) => f.code === 'CREATED_DIFFERS'));
    const semantic = await diff('--semantic', '--benign', a, b);
    assert.equal(semantic.code, 0, JSON.stringify(semantic.j));
    assert.equal(semantic.j.equal, true);
    assert.deepEqual(semantic.j.differences, []);
    assert.equal(semantic.j.files.ignored.mtime, 3);
    assert.equal(semantic.j.history.equal, true);
    assert.equal(semantic.j.history.timestampsDiffer, true);
    const left = (await readdir(tmp)).filter((f) => f.startsWith('trustpin-'));
    assert.deepEqual(left, [], 'temp blob files are removed');
  });

  test('whiteouts, an opaque directory and writes through a symlink flatten exactly as umoci unpacks', async () => {
    const client = new RegistryClient({});
    const src = await openSource(`${reg.host}/whiteouts/app:1`, client);
    try {
      const t = await walkImage(src, {});
      const m = imageManifest(t.root);
      const flat = await flattenImage(src, m, (await readConfig(src, m.config)).value);
      const bundle = join(await makeTempDir('umoci'), 'bundle');
      const umoci = requireBinary('umoci', 'umoci');
      const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
      await run(umoci, ['unpack', ...rootless, '--image', `${layout}:whiteouts`, bundle]);
      const disk = await walkDisk(join(bundle, 'rootfs'));
      const tree = new Map(flat.tree.sorted().map((n) => [n.path, n]));
      assert.deepEqual([...tree.keys()].sort(), [...disk.keys()].sort());
      for (const [p, n] of tree) {
        const seen = { ...disk.get(p)! };
        if (n.implicit) seen.mode = -1;
        if (rootless.length) seen.owner = '-';
        assert.deepEqual(describe_(n, rootless.length > 0), seen, p);
      }
      // spot checks on what each whiteout did
      assert.ok(!tree.has('etc/gone') && !tree.has('opt/old1') && !tree.has('var/cache'));
      assert.equal(tree.get('usr/bin/added')?.sha256, sha('through the symlink'));
      assert.equal(tree.get('escaped')?.sha256, sha('clamped to the root'));
      assert.equal(tree.get('usr/bin/tool2')?.hardlink, 'usr/bin/tool');
    } finally {
      await src.close();
      await client.close();
    }
  });

  test('registry image vs its OCI layout copy: identical by digest, and not one blob fetched', async () => {
    const before = await blobGets();
    const { code, j } = await diff(images.demoApp.ref, `oci:${images.layout.dir}:app`);
    assert.equal(code, 0);
    assert.equal(j.basis, 'digest');
    assert.equal(j.layersRead, 0);
    assert.match(j.summary, /^identical by digest/);
    assert.equal(j.history.finding.code, 'HISTORY_NOT_READ');
    assert.equal(await blobGets(), before, 'no blob GET reached the registry');
    // the v2s2 mirror: other manifests, the same layer blobs → same content without reading a layer
    const mid = await blobGets();
    const v2 = await diff('--platform', 'linux/arm64', images.demoApp.ref, images.mirrorApp.ref);
    assert.equal(v2.j.basis, 'layers', v2.j.summary);
    assert.equal(v2.j.layersRead, 0);
    assert.equal((await blobGets()) - mid, 2, 'only the two configs were fetched');
  });
});

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

interface Seen {
  type: string;
  mode: number;
  owner: string;
  link?: string;
  sha256?: string;
  mtime?: number;
}

function describe_(n: TreeNode, rootless: boolean): Seen {
  const out: Seen = { type: n.type, mode: n.mode, owner: rootless ? '-' : `${n.uid}:${n.gid}` };
  if (n.implicit) out.mode = -1; // unpackers pick their own mode for parents no entry described
  if (n.type === 'symlink') out.mode = 0o777; // Linux has no symlink modes: every one reads as 0777
  if (n.linkname !== undefined) out.link = n.linkname;
  if (n.sha256) out.sha256 = n.sha256;
  if (n.type !== 'directory') out.mtime = Math.floor(n.mtime / 1000);
  return out;
}

/** What `umoci unpack` left on disk, in the same shape. */
async function walkDisk(root: string, rel = '', out = new Map<string, Seen>()): Promise<Map<string, Seen>> {
  for (const name of await readdir(join(root, rel))) {
    const p = rel ? `${rel}/${name}` : name;
    const full = join(root, p);
    const st = await lstat(full);
    const type = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'file';
    const seen: Seen = { type, mode: st.mode & 0o7777, owner: `${st.uid}:${st.gid}` };
    if (type === 'symlink') seen.link = await readlink(full);
    if (type === 'file') seen.sha256 = sha(await readFile(full));
    if (type !== 'directory') seen.mtime = Math.floor(st.mtimeMs / 1000);
    out.set(p, seen);
    if (type === 'directory') await walkDisk(root, p, out);
  }
  return out;
}
