// The CLI end to end against the embedded registry: output shapes, exit codes, and error messages.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DemoSet, demoImages } from '../../src/demo/images.js';
import { MemoryRegistry } from '../../src/demo/registry-server.js';
import { digestOf } from '../../src/digest/index.js';
import { trustpin } from './run.js';

let reg: MemoryRegistry;
let host: string;
let set: DemoSet;

before(async () => {
  set = await demoImages();
  reg = new MemoryRegistry();
  host = await reg.listen();
  reg.push('demo/app', set.app, '1.0');
  reg.push('demo/liar', set.liar, '1.0');
});
after(() => reg.close());

test('inspect --json: index with platforms, configs and layers', async () => {
  const r = await trustpin(['inspect', '--json', `${host}/demo/app:1.0`]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.reference, `docker://${host}/demo/app:1.0`);
  assert.equal(j.digest, set.app.index.digest);
  assert.equal(j.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.equal(j.size, set.app.index.size);
  assert.deepEqual(
    j.manifests.map(
      (m: { platform: { os: string; architecture: string } }) =>
        `${m.platform.os}/${m.platform.architecture}`,
    ),
    ['linux/amd64', 'linux/arm64'],
  );
  const amd = j.manifests[0];
  assert.equal(amd.digest, set.app.images[0]!.manifest.digest);
  assert.deepEqual(
    { digest: amd.config.digest, size: amd.config.size },
    { digest: set.app.images[0]!.config.digest, size: set.app.images[0]!.config.size },
  );
  assert.equal(amd.layers[0].digest, set.app.images[0]!.layers[0]!.digest);
});

test('inspect of a single manifest puts config and layers at the top level', async () => {
  const r = await trustpin(['inspect', '--json', `${host}/demo/liar:1.0`]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.digest, set.liar.manifest.digest);
  assert.equal(j.config.digest, set.liar.config.digest);
  assert.equal(j.layers.length, 1);
});

test('inspect --raw writes the exact verified bytes; --platform selects the child', async () => {
  const r = await trustpin(['inspect', '--raw', `${host}/demo/app:1.0`]);
  assert.equal(r.code, 0);
  assert.equal(digestOf(r.raw), set.app.index.digest);
  const p = await trustpin(['inspect', '--raw', '--platform', 'linux/arm64', `${host}/demo/app:1.0`]);
  assert.equal(digestOf(p.raw), set.app.images[1]!.manifest.digest);
});

test('inspect text shows the tree with both platforms', async () => {
  const r = await trustpin(['inspect', `${host}/demo/app:1.0`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /linux\/amd64/);
  assert.match(r.stdout, /linux\/arm64/);
  assert.match(r.stdout, new RegExp(set.app.images[1]!.config.digest));
});

test('digest prints NAME@DIGEST; --platform gives the platform manifest; several refs at once', async () => {
  const r = await trustpin(['digest', `${host}/demo/app:1.0`]);
  assert.equal(r.stdout.trim(), `${host}/demo/app@${set.app.index.digest}`);
  const p = await trustpin(['digest', '--platform', 'linux/arm64', `${host}/demo/app:1.0`]);
  assert.equal(p.stdout.trim(), `${host}/demo/app@${set.app.images[1]!.manifest.digest}`);
  const m = await trustpin(['digest', `${host}/demo/app:1.0`, `${host}/demo/liar:1.0`]);
  assert.deepEqual(m.stdout.trim().split('\n'), [
    `${host}/demo/app@${set.app.index.digest}`,
    `${host}/demo/liar@${set.liar.manifest.digest}`,
  ]);
});

test('digest --file --expect explains the trailing-newline trap in plain words (exit 1)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-cli-'));
  const f = join(dir, 'index.json');
  writeFileSync(f, Buffer.concat([set.app.index.bytes, Buffer.from('\n')]));
  const bad = await trustpin(['digest', '--file', f, '--expect', set.app.index.digest]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /error\[DIGEST_MISMATCH\]/);
  assert.match(bad.stderr, /ends with a newline/);
  const good = await trustpin(['digest', '--file', '-', '--expect', set.app.index.digest], {
    input: set.app.index.bytes,
  });
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout.trim(), set.app.index.digest);
});

test('operational errors exit 2 with a code and a hint; unknown platform lists the available ones', async () => {
  const r = await trustpin(['inspect', `${host}/demo/nothing:1.0`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error\[(NAME_UNKNOWN|MANIFEST_UNKNOWN)\]/);
  const p = await trustpin(['digest', '--platform', 'linux/s390x', `${host}/demo/app:1.0`]);
  assert.equal(p.code, 2);
  assert.match(p.stderr, /PLATFORM_NOT_FOUND[\s\S]*linux\/amd64, linux\/arm64/);
  const u = await trustpin(['inspect', 'Not/Valid']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /REFERENCE_INVALID/);
  const j = await trustpin(['--json', 'inspect', `${host}/demo/nothing:1.0`]);
  assert.equal(JSON.parse(j.stdout).ok, false);
});

test('a lying registry makes inspect fail with exit 1 and nothing verified', async () => {
  const liar = new MemoryRegistry();
  const h = await liar.listen();
  liar.push('demo/app', set.app, '1.0');
  const arm = set.app.images[1]!.manifest.digest;
  liar.hook = (_req, res, url) => {
    if (!url.pathname.endsWith(`/manifests/${arm}`)) return false;
    res.writeHead(200, {
      'Content-Type': set.app.images[0]!.manifest.mediaType,
      'Docker-Content-Digest': arm,
    });
    res.end(set.app.images[0]!.manifest.bytes);
    return true;
  };
  try {
    const r = await trustpin(['inspect', `${h}/demo/app:1.0`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /DIGEST_MISMATCH/);
    assert.doesNotMatch(r.stdout, /verified/);
  } finally {
    await liar.close();
  }
});

test('demo runs end to end', async () => {
  const r = await trustpin(['demo']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /rejected: error\[DIGEST_MISMATCH\]/);
});

test('the bundled CLI that `npm ci` builds (dist/trustpin.mjs) runs the demo', async (t) => {
  const { existsSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const bin = new URL('../../dist/trustpin.mjs', import.meta.url).pathname;
  if (!existsSync(bin)) {
    t.skip('dist/trustpin.mjs not built (run npm run build)');
    return;
  }
  const r = spawnSync(process.execPath, [bin, '--no-color', 'demo'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /demo complete/);
});
