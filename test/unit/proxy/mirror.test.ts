// The verifying mirror over the in-process registry: a tag is answered only with the digest the policy accepted,
// refusals are OCI DENIED errors naming the rule, origins come from `?ns=` or the path prefix (reached through
// --upstream), content is served only by digest when it belongs to an accepted image, a lying origin's blob is cut
// mid-body and never cached, and the cache directory holds only files that hash to their names.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DemoSet, demoImages, MemoryRegistry } from '../../../src/demo/index.js';
import type { Policy, Requirement, Rule } from '../../../src/policy/types.js';
import { createMirrorServer, type MirrorLogLine, type MirrorServer } from '../../../src/proxy/index.js';
import { makeTempDir, removeDir } from '../../harness/index.js';

const at = { file: 'p.yaml', line: 3, column: 5 };
const pinned: Requirement = { kind: 'digestPinned', at, path: 'rules[2].require[0]' };

function policy(rules: { name: string; scope: string; require?: Requirement[] }[]): Policy {
  return {
    source: 'p.yaml',
    digest: 'sha256:1',
    defaults: { mode: 'enforce', noMatch: 'deny', digest: 'resolve', platform: 'index', verifyAt: 'now' },
    trustRoots: new Map(),
    mirrors: [],
    rules: rules.map((r, i) => ({ mode: 'enforce', require: [], index: i, at, ...r }) as Rule),
  };
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('the verifying mirror on the in-process registry', () => {
  let reg: MemoryRegistry;
  let host: string;
  let set: DemoSet;
  let mirror: MirrorServer;
  let base: string;
  let cacheDir: string;
  let lie = false;
  const logs: MirrorLogLine[] = [];

  before(async () => {
    set = await demoImages();
    reg = new MemoryRegistry();
    host = await reg.listen();
    reg.push('demo/app', set.app, '1.0');
    reg.push('evil/app', set.liar, '1.0');
    reg.push('other/app', set.liar, '1.0');
    const layer = set.app.images[0]!.layers[0]!;
    reg.hook = async (_req, res, url) => {
      if (!lie || !url.pathname.endsWith(`/blobs/${layer.digest}`)) return false;
      // the same length, one byte changed at the end, sent in two pieces
      const bad = Buffer.from(layer.bytes);
      bad[bad.length - 1]! ^= 0xff;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bad.length });
      res.write(bad.subarray(0, bad.length >> 1));
      await sleep(30);
      res.end(bad.subarray(bad.length >> 1));
      return true;
    };
    cacheDir = await makeTempDir('mirror-cache');
    mirror = createMirrorServer({
      policy: policy([
        { name: 'demo', scope: `${host}/demo/**` },
        { name: 'alias', scope: 'origin.test/demo/**' },
        { name: 'pins', scope: `${host}/evil/**`, require: [pinned] },
      ]),
      upstreams: [`origin.test=http://${host}`],
      cacheDir,
      log: (l) => logs.push(l),
    });
    base = await mirror.listen();
  });
  after(async () => {
    await mirror.close();
    await reg.close();
    await removeDir(cacheDir);
  });

  const get = (path: string, method = 'GET') =>
    fetch(`${base}${path}`, { method, headers: { accept: '*/*' } });
  const ns = () => `?ns=${encodeURIComponent(host)}`;

  test('GET /v2/ answers {} with the distribution API version header', async () => {
    const r = await get('/v2/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await r.json(), {});
  });

  test('a passing tag (?ns= origin) is answered with the verified digest and bytes; HEAD the same without a body', async () => {
    const r = await get(`/v2/demo/app/manifests/1.0${ns()}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), set.app.index.digest);
    assert.equal(r.headers.get('content-type'), set.app.index.mediaType);
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(sha(body), set.app.index.digest);
    const h = await get(`/v2/demo/app/manifests/1.0${ns()}`, 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('docker-content-digest'), set.app.index.digest);
    assert.equal(h.headers.get('content-length'), String(set.app.index.size));
    assert.equal((await h.arrayBuffer()).byteLength, 0);
    const line = logs.find((l) => l.path.startsWith('/v2/demo/app/manifests/1.0') && l.method === 'GET');
    assert.equal(line?.decision, 'pass');
    assert.equal(line?.rule, 'demo');
    assert.equal(line?.origin, host);
  });

  test('the platform manifest, config and layer of the accepted index are served by digest, hashed', async () => {
    const img = set.app.images[1]!;
    const m = await get(`/v2/demo/app/manifests/${img.manifest.digest}${ns()}`);
    assert.equal(m.status, 200);
    assert.equal(sha(Buffer.from(await m.arrayBuffer())), img.manifest.digest);
    for (const b of [img.config, ...img.layers]) {
      const r = await get(`/v2/demo/app/blobs/${b.digest}${ns()}`);
      assert.equal(r.status, 200, b.digest);
      assert.equal(r.headers.get('docker-content-digest'), b.digest);
      assert.equal(sha(Buffer.from(await r.arrayBuffer())), b.digest);
    }
    const h = await get(`/v2/demo/app/blobs/${img.config.digest}${ns()}`, 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-length'), String(img.config.size));
  });

  test('a failing tag is 403 DENIED naming the rule and the problem code', async () => {
    const r = await get(`/v2/evil/app/manifests/1.0${ns()}`);
    assert.equal(r.status, 403);
    const body = (await r.json()) as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0]?.code, 'DENIED');
    assert.match(body.errors[0]!.message, /refused by rule pins: NOT_PINNED/);
    assert.match(body.errors[0]!.message, /evil\/app:1\.0/);
    assert.equal(r.headers.get('docker-content-digest'), null);
    const h = await get(`/v2/evil/app/manifests/1.0${ns()}`, 'HEAD');
    assert.equal(h.status, 403);
  });

  test('no rule: the manifest by digest is refused (noMatch deny), and so are blobs of images never accepted', async () => {
    const r = await get(`/v2/other/app/manifests/${set.liar.manifest.digest}${ns()}`);
    assert.equal(r.status, 403);
    assert.match(
      ((await r.json()) as { errors: { message: string }[] }).errors[0]!.message,
      /NO_MATCHING_RULE/,
    );
    // the liar's layer exists in other/app on the origin, but no accepted image references it
    const b = await get(`/v2/other/app/blobs/${set.liar.layers[0]!.digest}${ns()}`);
    assert.equal(b.status, 403);
    assert.equal(((await b.json()) as { errors: { code: string }[] }).errors[0]!.code, 'DENIED');
    // nor in demo/app: a digest does not borrow acceptance from another image
    const c = await get(`/v2/demo/app/blobs/${set.liar.config.digest}${ns()}`);
    assert.equal(c.status, 403);
  });

  test('the path-prefix origin (c/image) names the origin judged; --upstream says where it is reached', async () => {
    const r = await get('/v2/origin.test/demo/app/manifests/1.0');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), set.app.index.digest);
    const direct = await get(`/v2/${host}/demo/app/manifests/1.0`);
    assert.equal(direct.status, 200);
    const line = [...logs].reverse().find((l) => l.path === '/v2/origin.test/demo/app/manifests/1.0');
    assert.equal(line?.origin, 'origin.test');
    assert.equal(line?.rule, 'alias');
    // the alias is its own origin: not judged by the rule for the host it is reached at
    const evil = await get('/v2/origin.test/evil/app/manifests/1.0');
    assert.equal(evil.status, 403);
  });

  test('a blob swapped by a lying origin is cut mid-body and never cached; a true one is cached and served from it', async () => {
    // a layer is known once its platform manifest was served
    const refused = await get(`/v2/demo/app/blobs/${set.app.images[0]!.layers[0]!.digest}${ns()}`);
    assert.equal(refused.status, 403);
    assert.equal(
      (await get(`/v2/demo/app/manifests/${set.app.images[0]!.manifest.digest}${ns()}`)).status,
      200,
    );
    const layer = set.app.images[0]!.layers[0]!;
    const path = `/v2/demo/app/blobs/${layer.digest}${ns()}`;
    lie = true;
    try {
      const r = await get(path);
      // headers went out with the first half; the last piece is held back until the hash matched, so it never came
      assert.equal(r.status, 200);
      await assert.rejects(r.arrayBuffer());
    } finally {
      lie = false;
    }
    await sleep(50);
    const files = await readdir(join(cacheDir, 'blobs', 'sha256')).catch(() => [] as string[]);
    assert.ok(!files.includes(layer.digest.slice(7)), 'the swapped blob is not in the cache');
    const ok = await get(path);
    assert.equal(sha(Buffer.from(await ok.arrayBuffer())), layer.digest);
    const cached = await readFile(join(cacheDir, 'blobs', 'sha256', layer.digest.slice(7)));
    assert.equal(sha(cached), layer.digest);
    // the origin lies again: the cached, verified copy is what is served
    lie = true;
    try {
      const again = await get(path);
      assert.equal(sha(Buffer.from(await again.arrayBuffer())), layer.digest);
      assert.equal([...logs].reverse().find((l) => l.path === path)?.from, 'cache');
    } finally {
      lie = false;
    }
  });

  test('the cache directory holds only files that hash to their names', async () => {
    const dir = join(cacheDir, 'blobs', 'sha256');
    const files = await readdir(dir);
    assert.ok(files.length >= 3, files.join(', '));
    for (const f of files) {
      assert.match(f, /^[0-9a-f]{64}$/, `no temp or partial file: ${f}`);
      assert.equal(sha(await readFile(join(dir, f))), `sha256:${f}`);
    }
  });

  test('a cache file changed on disk is never served whole: dropped, then fetched and verified again', async () => {
    const layer = set.app.images[0]!.layers[0]!;
    const file = join(cacheDir, 'blobs', 'sha256', layer.digest.slice(7));
    const bad = Buffer.from(layer.bytes);
    bad[0]! ^= 0xff;
    await writeFile(file, bad);
    const path = `/v2/demo/app/blobs/${layer.digest}${ns()}`;
    const r = await get(path);
    // a complete 200 body would be the changed bytes: the answer is an error or a cut body instead
    const complete = await r.arrayBuffer().then(
      () => r.status === 200,
      () => false,
    );
    assert.equal(complete, false, 'the changed file was not served as the blob');
    const again = await get(path);
    assert.equal(again.status, 200);
    assert.equal(sha(Buffer.from(await again.arrayBuffer())), layer.digest);
    assert.equal(sha(await readFile(file)), layer.digest, 'the cache holds the verified bytes again');
  });

  test('push, catalog and tag lists are refused with OCI errors; bad names are 400', async () => {
    const put = await fetch(`${base}/v2/demo/app/manifests/1.0`, { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(((await put.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UNSUPPORTED');
    assert.equal((await get('/v2/_catalog')).status, 404);
    assert.equal((await get(`/v2/demo/app/tags/list${ns()}`)).status, 404);
    assert.equal((await get(`/v2/Demo/App/manifests/1.0${ns()}`)).status, 400);
    assert.equal((await get(`/v2/demo/app/blobs/sha256:abc${ns()}`)).status, 400);
    assert.equal((await get(`/v2/${'a/'.repeat(1100)}x/manifests/1.0`)).status, 414);
  });
});
