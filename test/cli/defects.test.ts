// The CLI defects a new user hit (issue 10), end to end against the embedded registry: each test failed on the
// CLI before its fix (run with TRUSTPIN_CLI=<old bundle> to see it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { allBlobs } from '../../src/demo/build.js';
import { type DemoSet, demoImages } from '../../src/demo/images.js';
import { MemoryRegistry } from '../../src/demo/registry-server.js';
import { digestOf } from '../../src/digest/index.js';
import { writeOciLayout } from '../harness/oci-layout-writer.js';
import { cliArgv, trustpin } from './run.js';

let reg: MemoryRegistry;
let host: string;
let set: DemoSet;

before(async () => {
  set = await demoImages();
  reg = new MemoryRegistry();
  host = await reg.listen();
  reg.push('demo/app', set.app, '1.0');
  reg.push('demo/app', set.app, 'latest');
  reg.push('demo/liar', set.liar, '1.0');
});
after(() => reg.close());

const codes = (stderr: string) => [...stderr.matchAll(/error\[([A-Z_]+)\]/g)].map((m) => m[1]);

test('digest --expect on an image is a gate: a wrong digest exits 1 (DIGEST_MISMATCH), the right one 0', async () => {
  const ref = `${host}/demo/app:1.0`;
  const wrong = await trustpin(['digest', '--expect', set.liar.manifest.digest, ref]);
  assert.equal(wrong.code, 1, wrong.stdout);
  assert.deepEqual(codes(wrong.stderr), ['DIGEST_MISMATCH']);
  const right = await trustpin(['digest', '--expect', set.app.index.digest, ref]);
  assert.equal(right.code, 0, right.stderr);
  assert.equal(right.stdout.trim(), `${host}/demo/app@${set.app.index.digest}`);
  const arm = await trustpin([
    'digest',
    '--platform',
    'linux/arm64',
    '--expect',
    set.app.images[1]!.manifest.digest,
    ref,
  ]);
  assert.equal(arm.code, 0, arm.stderr);
  const several = await trustpin(['digest', '--expect', set.app.index.digest, ref, ref]);
  assert.equal(several.code, 2);
  assert.deepEqual(codes(several.stderr), ['USAGE']);
});

test('digest A MISSING C prints every result, reports each failure, exits 2 (operational)', async () => {
  const a = `${host}/demo/app:1.0`;
  const missing = `${host}/demo/app:nope`;
  const c = `${host}/demo/liar:1.0`;
  const r = await trustpin(['digest', a, missing, c]);
  assert.equal(r.code, 2);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `${host}/demo/app@${set.app.index.digest}`,
    `${host}/demo/liar@${set.liar.manifest.digest}`,
  ]);
  assert.deepEqual(codes(r.stderr), ['MANIFEST_UNKNOWN']);
  assert.match(r.stderr, /demo\/app:nope/);
  const j = await trustpin(['--json', 'digest', a, missing, c]);
  assert.equal(j.code, 2);
  const arr = JSON.parse(j.stdout) as { digest?: string; error?: { code: string } }[];
  assert.deepEqual(
    arr.map((e) => e.digest ?? e.error?.code),
    [set.app.index.digest, 'MANIFEST_UNKNOWN', set.liar.manifest.digest],
  );
});

test('digest of several refs where one fails verification (and none operationally) exits 1', async () => {
  const liar = new MemoryRegistry();
  const h = await liar.listen();
  liar.push('demo/app', set.app, '1.0');
  const arm = set.app.images[1]!.manifest.digest;
  liar.hook = (_req, res, url) => {
    if (!url.pathname.endsWith(`/manifests/${arm}`)) return false;
    res.writeHead(200, { 'Content-Type': set.app.images[0]!.manifest.mediaType });
    res.end(set.app.images[0]!.manifest.bytes);
    return true;
  };
  try {
    const r = await trustpin(['digest', `${h}/demo/app:1.0`, `${h}/demo/app@${arm}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout.trim(), `${h}/demo/app@${set.app.index.digest}`);
    assert.deepEqual(codes(r.stderr), ['DIGEST_MISMATCH']);
  } finally {
    await liar.close();
  }
});

test('an oci: pin prints as oci:DIR@sha256:… and is accepted back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-pin-'));
  await writeOciLayout(dir, allBlobs(set.app), [{ name: '1.0', target: set.app.index }]);
  const r = await trustpin(['digest', `oci:${dir}:1.0`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `oci:${dir}@${set.app.index.digest}`);
  const back = await trustpin(['digest', r.stdout.trim()]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(back.stdout.trim(), r.stdout.trim());
  const p = await trustpin(['digest', '--platform', 'linux/arm64', r.stdout.trim()]);
  assert.equal(p.stdout.trim(), `oci:${dir}@${set.app.images[1]!.manifest.digest}`);
});

test('--timeout abc is a usage error (exit 2) naming what was expected', async () => {
  const r = await trustpin(['--timeout', 'abc', 'digest', `${host}/demo/app:1.0`]);
  assert.equal(r.code, 2);
  assert.deepEqual(codes(r.stderr), ['USAGE']);
  assert.match(r.stderr, /expected: .*seconds[\s\S]*found: +abc/);
  const zero = await trustpin(['--timeout', '0', 'inspect', `${host}/demo/app:1.0`]);
  assert.deepEqual(codes(zero.stderr), ['USAGE']);
});

test('trustpin demo | head -1: a closed stdout ends the command quietly, with its own exit code', async () => {
  const r = await new Promise<{ code: number | null; stderr: string }>((res, rej) => {
    const p = spawn(process.execPath, cliArgv(['demo']), {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // what `head -1` does: read the first line, then close the pipe
    p.stdout.once('data', () => p.stdout.destroy());
    p.on('error', rej);
    p.on('close', (code) => res({ code, stderr }));
  });
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});

test('trustpin tags REPO lists every tag (text and JSON); the 404 hint names it', async () => {
  const r = await trustpin(['tags', `${host}/demo/app`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['1.0', 'latest']);
  const j = await trustpin(['--json', 'tags', `${host}/demo/app`]);
  assert.deepEqual(JSON.parse(j.stdout), ['1.0', 'latest']);
  const none = await trustpin(['tags', `${host}/demo/none`]);
  assert.equal(none.code, 2);
  assert.deepEqual(codes(none.stderr), ['NAME_UNKNOWN']);
  const missing = await trustpin(['digest', `${host}/demo/app:nope`]);
  assert.match(missing.stderr, new RegExp(`trustpin tags ${host}/demo/app`));
});

test('tags follows Link pagination on the same endpoint only, and caps the pages', async () => {
  const paged = new MemoryRegistry();
  const h = await paged.listen();
  const pages = 150;
  paged.hook = (_req, res, url) => {
    if (!url.pathname.startsWith('/v2/p/')) return false;
    const n = Number(url.searchParams.get('last') ?? '0');
    const loop = url.pathname.startsWith('/v2/p/loop/');
    const evil = url.pathname.startsWith('/v2/p/evil/');
    const next = loop || n + 1 < pages;
    const repo = url.pathname.slice(4, url.pathname.indexOf('/tags/list'));
    res.writeHead(200, {
      'Content-Type': 'application/json',
      ...(next
        ? {
            Link: evil
              ? `<http://127.0.0.2:1/v2/${repo}/tags/list?last=1>; rel="next"`
              : `</v2/${repo}/tags/list?n=1&last=${n + 1}>; rel="next"`,
          }
        : {}),
    });
    res.end(JSON.stringify({ name: repo, tags: [`t${n}`] }));
    return true;
  };
  try {
    const loop = await trustpin(['--json', 'tags', `${h}/p/loop`]);
    assert.equal(loop.code, 2);
    assert.equal(JSON.parse(loop.stdout).error.code, 'REGISTRY_ERROR');
    const evil = await trustpin(['--json', 'tags', `${h}/p/evil`]);
    assert.equal(JSON.parse(evil.stdout).error.code, 'REGISTRY_ERROR');
    assert.ok(!paged.requests.some((q) => q.path.includes('127.0.0.2')));
  } finally {
    await paged.close();
  }
  // 100 pages is the cap: 99 pages of one tag each are listed whole
  const ok = new MemoryRegistry();
  const h2 = await ok.listen();
  ok.hook = (_req, res, url) => {
    if (!url.pathname.startsWith('/v2/p/tags/list')) return false;
    const n = Number(url.searchParams.get('last') ?? '0');
    res.writeHead(200, {
      'Content-Type': 'application/json',
      ...(n + 1 < 99 ? { Link: `</v2/p/tags/list?n=1&last=${n + 1}>; rel="next"` } : {}),
    });
    res.end(JSON.stringify({ name: 'p', tags: [`t${n}`] }));
    return true;
  };
  try {
    const r = await trustpin(['--json', 'tags', `${h2}/p`]);
    assert.equal(r.code, 0, r.stderr);
    const tags = JSON.parse(r.stdout) as string[];
    assert.equal(tags.length, 99);
    assert.equal(tags[98], 't98');
  } finally {
    await ok.close();
  }
});

test('inspect --config prints the verified config of one image; an index needs --platform', async () => {
  const arm = await trustpin(['inspect', '--config', '--platform', 'linux/arm64', `${host}/demo/app:1.0`]);
  assert.equal(arm.code, 0, arm.stderr);
  assert.equal(digestOf(arm.raw.subarray(0, arm.raw.length - 1)), set.app.images[1]!.config.digest);
  assert.equal(JSON.parse(arm.stdout).architecture, 'arm64');
  const single = await trustpin(['inspect', '--config', `${host}/demo/liar:1.0`]);
  assert.equal(single.code, 0, single.stderr);
  assert.equal(digestOf(single.raw.subarray(0, single.raw.length - 1)), set.liar.config.digest);
  const index = await trustpin(['inspect', '--config', `${host}/demo/app:1.0`]);
  assert.equal(index.code, 2);
  assert.deepEqual(codes(index.stderr), ['PLATFORM_NOT_FOUND']);
  assert.match(index.stderr, /linux\/amd64, linux\/arm64/);
});

test('-q prints results only: inspect the digest, compare nothing, digest the pins', async () => {
  const i = await trustpin(['-q', 'inspect', `${host}/demo/app:1.0`]);
  assert.equal(i.code, 0, i.stderr);
  assert.equal(i.stdout.trim(), set.app.index.digest);
  const ip = await trustpin(['-q', 'inspect', '--platform', 'linux/arm64', `${host}/demo/app:1.0`]);
  assert.equal(ip.stdout.trim(), set.app.images[1]!.manifest.digest);
  const c = await trustpin(['-q', 'compare', `${host}/demo/app:1.0`, `${host}/demo/app:latest`]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, '');
  const d = await trustpin([
    '-q',
    'diff',
    `${host}/demo/app:1.0`,
    `${host}/demo/app:latest`,
    '--platform',
    'linux/amd64',
  ]);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout, '');
  const dest = mkdtempSync(join(tmpdir(), 'tp-q-'));
  const p = await trustpin([
    '-q',
    'pull',
    `${host}/demo/app:1.0`,
    '--platform',
    'linux/amd64',
    '--dest',
    `oci:${dest}/l`,
  ]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout.trim(), set.app.images[0]!.manifest.digest);
  assert.equal(p.stderr, '');
  const demo = await trustpin(['-q', 'demo']);
  assert.equal(demo.code, 0, demo.stderr);
  // only verdicts: the attacks rejected (the lying registry, then the policy's four) and the closing line
  const lines = demo.stdout.trim().split('\n').filter(Boolean);
  assert.ok(lines.length <= 8, demo.stdout);
  assert.ok(
    lines.every((l) => l.startsWith('✔ rejected') || l.startsWith('demo complete')),
    demo.stdout,
  );
});

test('a docker-archive pin prints as FILE:NAME:TAG@sha256:… and is accepted back; a wrong pin exits 1', async () => {
  const { writeFileSync, mkdirSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'tp-save-'));
  const img = set.app.images[0]!;
  const hex = (d: string) => d.slice('sha256:'.length);
  // a pre-25 `docker save`: manifest.json, <config hex>.json, <dir>/layer.tar
  writeFileSync(join(dir, `${hex(img.config.digest)}.json`), img.config.bytes);
  const layers = img.layers.map((l, i) => {
    mkdirSync(join(dir, `l${i}`));
    writeFileSync(join(dir, `l${i}`, 'layer.tar'), l.bytes);
    return `l${i}/layer.tar`;
  });
  const manifest = [{ Config: `${hex(img.config.digest)}.json`, RepoTags: ['demo/app:1.0'], Layers: layers }];
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const tar = join(dir, 'app.tar');
  execFileSync('tar', ['-C', dir, '-cf', tar, 'manifest.json', `${hex(img.config.digest)}.json`, ...layers]);

  const r = await trustpin(['digest', `docker-archive:${tar}:demo/app:1.0`]);
  assert.equal(r.code, 0, r.stderr);
  const pinned = r.stdout.trim();
  const digest = pinned.slice(pinned.lastIndexOf('@') + 1);
  assert.equal(pinned, `docker-archive:${tar}:demo/app:1.0@${digest}`);
  for (const again of [pinned, `docker-archive:${tar}@${digest}`]) {
    const back = await trustpin(['digest', again]);
    assert.equal(back.code, 0, `${again}: ${back.stderr}`);
    assert.equal(back.stdout.trim().split('@').pop(), digest);
  }
  const wrong = await trustpin(['inspect', `docker-archive:${tar}:demo/app:1.0@${set.liar.manifest.digest}`]);
  assert.equal(wrong.code, 1);
  assert.deepEqual(codes(wrong.stderr), ['DIGEST_MISMATCH']);
});

test('listTags caps a page body (SIZE_EXCEEDED), reads `"tags": null` as none, refuses a next link that is not a URL', async () => {
  const { RegistryClient, listTags } = await import('../../src/registry/index.js');
  const big = new MemoryRegistry();
  const h = await big.listen();
  big.hook = (_req, res, url) => {
    if (!url.pathname.endsWith('/tags/list')) return false;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      ...(url.pathname.startsWith('/v2/bad-link/')
        ? { Link: '<http://[::1/v2/bad-link/tags/list?last=a>; rel="next"' }
        : {}),
    });
    if (url.pathname.startsWith('/v2/empty/')) res.end('{"name":"empty","tags":null}');
    else if (url.pathname.startsWith('/v2/bad-link/')) res.end('{"name":"bad-link","tags":["a"]}');
    else res.end(JSON.stringify({ name: 'big', tags: Array.from({ length: 20_000 }, (_, i) => `tag-${i}`) }));
    return true;
  };
  const client = new RegistryClient();
  try {
    await assert.rejects(listTags(client, h, 'big', { maxPageBytes: 64 * 1024 }), { code: 'SIZE_EXCEEDED' });
    assert.equal((await listTags(client, h, 'big')).length, 20_000);
    assert.deepEqual(await listTags(client, h, 'empty'), []);
    // a Link header that is not a URL is the registry's error, not a TypeError (found by review; issue 11)
    await assert.rejects(listTags(client, h, 'bad-link'), { code: 'REGISTRY_ERROR', message: /not a URL/ });
  } finally {
    await client.close();
    await big.close();
  }
});
