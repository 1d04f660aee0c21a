// `trustpin pull` end to end: a generated multi-layer image from the real registry lands as an OCI layout that
// skopeo reads byte for byte and whose rootfs equals umoci's; a second pull reuses every blob; and against the
// hostile in-process registry: resets resume, 500/429 retry, wrong bytes never reach blobs/, kill -9 leaves no
// partial blob.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { allBlobs, type BuiltImage, buildImage, type FileSpec } from '../../src/demo/build.js';
import { demoImages } from '../../src/demo/images.js';
import { MemoryRegistry } from '../../src/demo/registry-server.js';
import { digestOf } from '../../src/digest/index.js';
import { isTrustpinError } from '../../src/errors/index.js';
import { pull } from '../../src/pull/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { openSource } from '../../src/source/open.js';
import { snapshot } from '../attacks/layers.js';
import { CLI, trustpin } from '../cli/run.js';
import {
  makeTempDir,
  type RunningRegistry,
  removeDir,
  requireBinary,
  run,
  startRegistry,
  writeOciLayout,
} from '../harness/index.js';

const big = randomBytes(3 * 1024 * 1024);

/** Three layers that exercise what an unpacker must get right, umoci being the reference. */
async function image(): Promise<BuiltImage> {
  const d = (path: string, mode = 0o755): FileSpec => ({ path, type: 'directory', mode });
  return buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [
      [
        d('etc'),
        { path: 'etc/hosts', content: '127.0.0.1 localhost\n' },
        { path: 'etc/shadow', content: 'root:*:1::::::\n', mode: 0o640, gid: 42 },
        d('usr'),
        d('usr/bin'),
        { path: 'usr/bin/tool', content: '#!/bin/sh\necho 1\n', mode: 0o755 },
        { path: 'usr/bin/tool2', type: 'link', linkname: 'usr/bin/tool' },
        d('usr/lib'),
        { path: 'usr/lib/libx.so.1', content: randomBytes(70_000) },
        { path: 'usr/lib/libx.so', type: 'symlink', linkname: 'libx.so.1' },
        { path: 'usr/lib/libx-copy.so.1', type: 'link', linkname: 'usr/lib/libx.so.1' },
        { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { path: 'bin', type: 'symlink', linkname: '/usr/bin' },
        d('tmp', 0o1777),
        d('root', 0o700),
        d('home'),
        d('home/user'),
        { path: 'home/user/.profile', content: 'export X=1\n', uid: 1000, gid: 1000 },
        { path: 'home/user/empty', content: '' },
        d('var'),
        d('var/cache'),
        { path: 'var/cache/old', content: 'old\n' },
      ],
      [
        d('etc'),
        { path: 'etc/.wh.hosts', content: '' },
        { path: 'etc/hostname', content: 'box\n' },
        d('usr/bin'),
        { path: 'usr/bin/tool', content: '#!/bin/sh\necho 2\n', mode: 0o750 },
        d('var/cache'),
        { path: 'var/cache/.wh..wh..opq', content: '' },
        { path: 'var/cache/new', content: 'new\n' },
      ],
      [d('opt'), d('opt/a'), d('opt/a/b'), { path: 'opt/a/b/big.bin', content: big, mode: 0o444 }],
    ],
  });
}

describe('pull from the real registry', () => {
  let reg: RunningRegistry;
  let tmp: string;
  let img: BuiltImage;
  let ref: string;
  const blobGets = () =>
    readFileSync(reg.process.logFile, 'utf8')
      .split('\n')
      .filter((l) => /"GET \/v2\/e2e\/app\/blobs\//.test(l)).length;

  before(async () => {
    [reg, tmp, img] = await Promise.all([startRegistry({ mode: 'plain' }), makeTempDir('pull-e2e'), image()]);
    const src = join(tmp, 'src');
    await writeOciLayout(src, allBlobs(img), [{ name: 'v1', target: img.manifest }]);
    ref = `${reg.host}/e2e/app:1`;
    await run(requireBinary('skopeo', 'skopeo'), [
      'copy',
      '--quiet',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${src}:v1`,
      `docker://${ref}`,
    ]);
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await removeDir(tmp);
  });

  test('pull --unpack: skopeo reads the layout byte for byte; the rootfs equals umoci unpack', async () => {
    const dest = join(tmp, 'dest');
    const rootfs = join(tmp, 'rootfs');
    const r = await trustpin(['--json', 'pull', ref, '--dest', `oci:${dest}:v1`, '--unpack', rootfs]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.digest, img.manifest.digest);
    assert.deepEqual(
      j.images[0].layers.map((l: { diffId: string }) => l.diffId),
      img.diffIds,
    );
    assert.equal(j.blobs.fetched, 5, 'manifest, config and three layers');
    assert.ok(j.throughput.downloadMBps >= 0);

    const raw = await run(requireBinary('skopeo', 'skopeo'), ['inspect', '--raw', `oci:${dest}:v1`]);
    assert.ok(raw.stdout.equals(img.manifest.bytes), 'manifest bytes exactly as pushed');
    const cfg = await run(requireBinary('skopeo', 'skopeo'), [
      'inspect',
      '--raw',
      '--config',
      `oci:${dest}:v1`,
    ]);
    assert.ok(cfg.stdout.equals(img.config.bytes));
    assert.ok(!existsSync(join(dest, 'blobs', '.tmp')), 'no temp dir left behind');

    const bundle = join(tmp, 'bundle');
    await run(requireBinary('umoci', 'umoci'), ['unpack', '--image', `${dest}:v1`, bundle]);
    const ours = await snapshot(rootfs);
    const theirs = await snapshot(join(bundle, 'rootfs'));
    const strip = (m: Map<string, { ino?: number }>) =>
      [...m].map(([p, n]) => [p, { ...n, ino: undefined }] as const);
    assert.deepEqual(strip(ours), strip(theirs));
    assert.equal(
      ours.get('usr/lib/libx-copy.so.1')?.ino,
      ours.get('usr/lib/libx.so.1')?.ino,
      'hard link kept',
    );
    assert.notEqual(
      ours.get('usr/bin/tool2')?.ino,
      ours.get('usr/bin/tool')?.ino,
      'a replaced file is a new file',
    );
    assert.ok(!ours.has('etc/hosts') && !ours.has('var/cache/old') && ours.has('var/cache/new'));
  });

  test('a second pull re-verifies and reuses every blob: no blob GET', async () => {
    const dest = join(tmp, 'dest2');
    const client = new RegistryClient();
    try {
      const first = await pull(await openSource(ref, client), { dest, tag: 'a' });
      assert.equal(first.blobs.fetched, 5);
      const before = blobGets();
      const second = await pull(await openSource(ref, client), { dest, tag: 'b' });
      assert.equal(blobGets() - before, 0);
      assert.deepEqual([second.blobs.fetched, second.blobs.reused], [0, 5]);
      // a stored blob that no longer matches its name is replaced, never trusted
      await writeFile(join(dest, 'blobs', 'sha256', img.layers[2]!.digest.slice(7)), 'rotten');
      const third = await pull(await openSource(ref, client), { dest, tag: 'b' });
      assert.deepEqual([third.blobs.fetched, third.blobs.reused], [1, 4]);
      const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8'));
      assert.deepEqual(
        index.manifests.map(
          (m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'],
        ),
        ['a', 'b'],
      );
    } finally {
      await client.close();
    }
  });
});

describe('pull from the in-process (and hostile) registry', () => {
  let reg: MemoryRegistry;
  let host: string;
  let tmp: string;
  let img: BuiltImage;
  let layer: BuiltImage['layers'][number];
  let n = 0;
  const client = new RegistryClient({ maxBackoffMs: 20, credentials: async () => undefined });
  const blobPath = (d: string) => `/v2/e2e/app/blobs/${d}`;

  before(async () => {
    tmp = await makeTempDir('pull-hostile');
    img = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      compression: 'none',
      layers: [[{ path: 'big.bin', content: big }], [{ path: 'small', content: 'x' }]],
    });
    layer = img.layers[0]!;
    reg = new MemoryRegistry();
    reg.push('e2e/app', img, '1');
    host = await reg.listen();
  });
  after(async () => {
    await reg.close();
    await client.close();
    await removeDir(tmp);
  });

  const pullOnce = async () => {
    const dest = join(tmp, `dest${++n}`);
    const r = await pull(await openSource(`${host}/e2e/app:1`, client), {
      dest,
      tag: '1',
      unpack: `${dest}-root`,
    });
    return { r, dest };
  };

  test('an index: the host platform by default, or --all-platforms with the index bytes as fetched', async () => {
    const set = await demoImages();
    reg.push('demo/app', set.app, '1.0');
    const [amd64] = set.app.images;
    const dest = join(tmp, 'index');
    const one = await pull(await openSource(`${host}/demo/app:1.0`, client), { dest, tag: 'one' });
    assert.equal(one.digest, amd64!.manifest.digest);
    const all = await pull(await openSource(`${host}/demo/app:1.0`, client), {
      dest,
      tag: 'all',
      allPlatforms: true,
    });
    assert.equal(all.digest, set.app.index.digest);
    assert.deepEqual(
      all.images.map((i) => i.platform),
      ['linux/amd64', 'linux/arm64'],
    );
    const raw = await run(requireBinary('skopeo', 'skopeo'), ['inspect', '--raw', `oci:${dest}:all`]);
    assert.ok(raw.stdout.equals(set.app.index.bytes));
    const arm = await run(requireBinary('skopeo', 'skopeo'), [
      'inspect',
      '--override-arch',
      'arm64',
      `oci:${dest}:all`,
    ]);
    assert.equal(JSON.parse(raw.stdout.toString()).manifests.length, 2);
    assert.equal(JSON.parse(arm.stdout.toString()).Architecture, 'arm64');
  });

  test('an --unpack target that is not empty fails before anything is downloaded', async () => {
    const dest = join(tmp, 'busy');
    const before = reg.requests.length;
    await assert.rejects(
      pull(await openSource(`${host}/e2e/app:1`, client), { dest, unpack: tmp }),
      (e) => isTrustpinError(e, 'USAGE') && /is not empty/.test(e.message),
    );
    assert.equal(reg.requests.length, before);
    assert.ok(!existsSync(dest));
  });

  test('a connection reset mid-blob resumes with Range', async () => {
    let cut = false;
    reg.hook = (req, res, url) => {
      if (url.pathname !== blobPath(layer.digest) || req.headers.range || cut) return false;
      cut = true;
      res.writeHead(200, { 'Content-Length': layer.size });
      res.write(layer.bytes.subarray(0, layer.size / 2), () => setTimeout(() => req.socket.destroy(), 20));
      return true;
    };
    const { dest } = await pullOnce();
    const ranged = reg.requests.filter((q) => q.path === blobPath(layer.digest) && q.headers.range);
    assert.equal(ranged.length, 1);
    assert.match(String(ranged[0]!.headers.range), /^bytes=\d+-$/);
    assert.ok((await readFile(join(`${dest}-root`, 'big.bin'))).equals(big));
  });

  test('500 then 429 are retried', async () => {
    let calls = 0;
    reg.hook = (_req, res, url) => {
      if (url.pathname !== blobPath(layer.digest)) return false;
      calls++;
      if (calls === 1) res.writeHead(500).end();
      else if (calls === 2) res.writeHead(429, { 'Retry-After': '0' }).end();
      else return false;
      return true;
    };
    await pullOnce();
    assert.equal(calls, 3);
  });

  test('wrong bytes → DIGEST_MISMATCH, nothing in blobs/ for that blob, nothing tagged', async () => {
    const wrong = Buffer.from(layer.bytes);
    wrong.writeUInt8(wrong.readUInt8(wrong.length - 600) ^ 0xff, wrong.length - 600);
    reg.hook = (_req, res, url) => {
      if (url.pathname !== blobPath(layer.digest)) return false;
      res.writeHead(200, { 'Content-Length': wrong.length }).end(wrong);
      return true;
    };
    const dest = join(tmp, `dest${++n}`);
    await assert.rejects(
      pull(await openSource(`${host}/e2e/app:1`, client), { dest, tag: '1' }),
      (e) =>
        isTrustpinError(e, 'DIGEST_MISMATCH') && e.expected === layer.digest && e.found === digestOf(wrong),
    );
    assert.ok(!existsSync(join(dest, 'blobs', 'sha256', layer.digest.slice(7))));
    assert.ok(!existsSync(join(dest, 'blobs', '.tmp')), 'the temp file is gone too');
    assert.ok(!existsSync(join(dest, 'index.json')));
  });

  test('kill -9 mid-download leaves no partial blob; the next pull sweeps the temp file', async () => {
    reg.hook = (_req, res, url) => {
      if (url.pathname !== blobPath(layer.digest)) return false;
      res.writeHead(200, { 'Content-Length': layer.size });
      res.write(layer.bytes.subarray(0, layer.size / 2)); // and then nothing: the download hangs here
      return true;
    };
    const dest = join(tmp, 'killed');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'pull', `${host}/e2e/app:1`, '--dest', `oci:${dest}:1`],
      {
        stdio: 'ignore',
      },
    );
    const tmpDir = join(dest, 'blobs', '.tmp');
    const exited = new Promise((r) => child.once('exit', r));
    // writes are batched by the MiB: wait until the first batch of the half-served blob is on disk
    let partial = 0;
    for (let i = 0; i < 300 && partial < 1024 * 1024; i++) {
      await sleep(50);
      for (const f of await readdir(tmpDir).catch(() => [] as string[]))
        partial = Math.max(partial, (await stat(join(tmpDir, f)).catch(() => ({ size: 0 }))).size);
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(partial >= 1024 * 1024, `the child wrote ${partial} bytes of the blob`);
    const stored = await readdir(join(dest, 'blobs', 'sha256'));
    assert.ok(!stored.includes(layer.digest.slice(7)), 'the half blob is not under blobs/sha256');
    for (const f of stored)
      assert.equal(
        digestOf(await readFile(join(dest, 'blobs', 'sha256', f))),
        `sha256:${f}`,
        'every stored blob is whole',
      );
    // other blobs may have been in flight too when the process died: all of them sit in blobs/.tmp only
    assert.ok((await readdir(tmpDir)).length >= 1, 'the partial download sits in blobs/.tmp only');

    reg.hook = undefined;
    const r = await pull(await openSource(`${host}/e2e/app:1`, client), { dest, tag: '1' });
    assert.equal(r.digest, img.manifest.digest);
    assert.ok(!existsSync(tmpDir), 'the dead process’s temp file was swept');
  });
});
