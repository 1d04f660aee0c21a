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

/** What the demo's policy section must show: the rules that applied, each attack's code, the HTML report. */
async function assertPolicyDemo(stdout: string): Promise<void> {
  const { existsSync } = await import('node:fs');
  const { readFile } = await import('node:fs/promises');
  const verdict = (ref: string) => {
    const at = stdout.search(
      new RegExp(`^(✔ pass|✘ FAIL) \\S+/${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
    );
    assert.ok(at >= 0, `no verdict for ${ref}:\n${stdout}`);
    const end = stdout.indexOf('\n\n', at);
    return stdout.slice(at, end < 0 ? undefined : end);
  };
  const cases: [string, 'pass' | 'FAIL', string, RegExp][] = [
    ['demo/app:1.0', 'pass', 'demo-app-signed', /✔ Docker Content Trust signature/],
    ['mirror/app:1.0', 'pass', 'demo-app-signed', /mirror of \S+\/demo\/app: proven equal .* at config/],
    ['demo/app:amd64', 'pass', 'demo-app-signed', /✔ cosign signature by key demo-key/],
    ['tampered/app:1.0', 'FAIL', 'demo-app-signed', /MIRROR_NOT_PROVEN/],
    ['demo/app:patched', 'FAIL', 'demo-app-signed', /REQUIREMENT_NOT_MET/],
    ['demo/app:unsigned', 'FAIL', 'demo-app-signed', /REQUIREMENT_NOT_MET/],
    ['other/tool:latest', 'FAIL', 'everything-else-pinned', /NOT_PINNED/],
  ];
  for (const [ref, outcome, rule, why] of cases) {
    const v = verdict(ref);
    assert.ok(v.startsWith(outcome === 'pass' ? '✔ pass' : '✘ FAIL'), v);
    assert.match(v, new RegExp(`^  rule ${rule} `, 'm'), v);
    assert.match(v, why, v);
  }
  for (const [ref, code] of [
    ['tampered/app:1.0', 'MIRROR_NOT_PROVEN'],
    ['demo/app:patched', 'REQUIREMENT_NOT_MET'],
    ['demo/app:unsigned', 'REQUIREMENT_NOT_MET'],
    ['other/tool:latest', 'NOT_PINNED'],
  ])
    assert.ok(
      stdout.includes(`✔ rejected: ${ref} — `) && stdout.includes(`error[${code}]`),
      `${ref} ${code}`,
    );
  assert.match(stdout, /^ +rootKeyIds: \["[0-9a-f]{64}"\]$/m);
  // pin: the accepted images pinned in the Dockerfile and compose file, the unsigned one refused and left alone
  assert.match(stdout, /^FROM --platform=\$BUILDPLATFORM \S+\/demo\/app:1\.0@sha256:[0-9a-f]{64} AS build$/m);
  assert.match(stdout, /^ {4}image: "\S+\/demo\/app:unsigned"$/m);
  assert.match(stdout, /✔ rejected: demo\/app:unsigned — pinned nowhere.*error\[NOT_PINNED\]/);
  const html = /^HTML report: (\S+)$/m.exec(stdout)?.[1];
  assert.ok(html && existsSync(html), `HTML report ${html} exists`);
  assert.match(await readFile(html, 'utf8'), /^<!doctype html>/);
  // the demo leaves its policy and HTML report for the user; the test does not
  const { rm } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await rm(dirname(html), { recursive: true, force: true });
}

test('demo runs end to end: the lying registry, then the policy catches every attack', async () => {
  const home = mkdtempSync(join(tmpdir(), 'trustpin-demo-home-'));
  const r = await trustpin(['demo'], { env: { HOME: home, TRUSTPIN_HOME: '' } });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /rejected: error\[DIGEST_MISMATCH\]/);
  await assertPolicyDemo(r.stdout);
  // the DCT trust store was a temp dir: the user's ~/.trustpin is never touched
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(join(home, '.trustpin')), false);
  const { rm } = await import('node:fs/promises');
  await rm(home, { recursive: true, force: true });
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
  await assertPolicyDemo(r.stdout);
});
