// How the mirror decides over time: the policy file is re-read when it changes (and a file that stops loading
// refuses everything with 503 until it loads again), an origin that cannot be reached is 503 (fail closed, not
// cached), and concurrent requests for one tag share one evaluation (one tag GET at the origin) within the TTL.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DemoSet, demoImages, MemoryRegistry } from '../../../src/demo/index.js';
import { createMirrorServer, type MirrorServer } from '../../../src/proxy/index.js';
import { freePort, makeTempDir, removeDir } from '../../harness/index.js';
import { makeTestPki } from '../../harness/tls.js';

describe('mirror decisions: policy reload, unreachable origins, one evaluation per key', () => {
  let reg: MemoryRegistry;
  let host: string;
  let set: DemoSet;
  let dir: string;
  let file: string;
  let mirror: MirrorServer;
  let base: string;
  let clock = 1_000_000;

  const yaml = (require: string) => `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny, digest: resolve }
rules:
  - name: demo
    scope: "${host}/demo/**"
    require: ${require}
  - name: down
    scope: "127.0.0.1:1/**"
    require: []
`;

  before(async () => {
    set = await demoImages();
    reg = new MemoryRegistry();
    host = await reg.listen();
    reg.push('demo/app', set.app, '1.0');
    dir = await makeTempDir('mirror-decisions');
    file = join(dir, 'policy.yaml');
    await writeFile(file, yaml('[]'));
    mirror = createMirrorServer({
      policy: file,
      registry: { attempts: 1, timeoutMs: 2000 },
      now: () => clock,
      log: () => undefined,
    });
    base = await mirror.listen();
  });
  after(async () => {
    await mirror.close();
    await reg.close();
    await removeDir(dir);
  });

  const tagGets = () =>
    reg.requests.filter((r) => r.method === 'GET' && r.path === '/v2/demo/app/manifests/1.0').length;
  const get = (path: string) => fetch(`${base}${path}`);
  const tag = () => `/v2/demo/app/manifests/1.0?ns=${encodeURIComponent(host)}`;
  const errorOf = async (r: Response) =>
    ((await r.json()) as { errors: { code: string; message: string }[] }).errors[0]!;

  test('five requests at once for one tag: one evaluation, one tag GET at the origin; none again within the TTL', async () => {
    const before = tagGets();
    const all = await Promise.all([1, 2, 3, 4, 5].map(() => get(tag())));
    for (const r of all) {
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('docker-content-digest'), set.app.index.digest);
      await r.arrayBuffer();
    }
    assert.equal(tagGets() - before, 1);
    clock += 10_000;
    await (await get(tag())).arrayBuffer();
    assert.equal(tagGets() - before, 1, 'within the 30 s tag TTL');
    clock += 30_000;
    await (await get(tag())).arrayBuffer();
    assert.equal(tagGets() - before, 2, 'after the tag TTL the tag is judged again');
  });

  test('the policy file is re-read when it changes: a tightened rule refuses the tag at once', async () => {
    await writeFile(file, yaml('[ { digestPinned: true } ]'));
    const r = await get(tag());
    assert.equal(r.status, 403);
    const e = await errorOf(r);
    assert.equal(e.code, 'DENIED');
    assert.match(e.message, /rule demo: NOT_PINNED/);
    // by digest it passes under this rule
    const d = await get(`/v2/demo/app/manifests/${set.app.index.digest}?ns=${encodeURIComponent(host)}`);
    assert.equal(d.status, 200);
  });

  test('content accepted under an old policy is judged again under the new one', async () => {
    const ns = `?ns=${encodeURIComponent(host)}`;
    await writeFile(file, yaml('[]'));
    assert.equal((await get(tag())).status, 200);
    const img = set.app.images[0]!;
    assert.equal((await get(`/v2/demo/app/manifests/${img.manifest.digest}${ns}`)).status, 200);
    const layer = `/v2/demo/app/blobs/${img.layers[0]!.digest}${ns}`;
    assert.equal((await get(layer)).status, 200);
    // no rule covers demo/ any more: the image the layer belongs to is judged again, and refused
    await writeFile(file, yaml('[]').replace(`${host}/demo/**`, `${host}/other/**`));
    const r = await get(layer);
    assert.equal(r.status, 403);
    assert.equal((await errorOf(r)).code, 'DENIED');
    assert.equal((await get(`/v2/demo/app/manifests/${img.manifest.digest}${ns}`)).status, 403);
  });

  test('a policy file that stops loading refuses everything with 503 until it loads again', async () => {
    await writeFile(file, 'apiVersion: trustpin.dev/v1alpha1\nkind: TrustPolicy\nrules: [ { name: x } ]\n');
    const r = await get(tag());
    assert.equal(r.status, 503);
    assert.equal((await errorOf(r)).code, 'UNAVAILABLE');
    const d = await get(`/v2/demo/app/manifests/${set.app.index.digest}?ns=${encodeURIComponent(host)}`);
    assert.equal(d.status, 503, 'nothing is served by a policy that does not load, not even known content');
    await writeFile(file, yaml('[]'));
    assert.equal((await get(tag())).status, 200);
  });

  test('an origin that cannot be reached is 503 UNAVAILABLE (fail closed), asked again next time', async () => {
    const port = await freePort();
    const path = `/v2/demo/app/manifests/1.0?ns=${encodeURIComponent(`127.0.0.1:${port}`)}`;
    await writeFile(file, yaml('[]').replace('127.0.0.1:1/**', `127.0.0.1:${port}/**`));
    const r = await get(path);
    assert.equal(r.status, 503);
    const e = await errorOf(r);
    assert.equal(e.code, 'UNAVAILABLE');
    assert.match(e.message, /could not be judged by rule down/);
    // the origin comes up with the image: the error was not cached
    const late = new MemoryRegistry();
    await late.listen(port);
    try {
      late.push('demo/app', set.app, '1.0');
      const ok = await get(path);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('docker-content-digest'), set.app.index.digest);
    } finally {
      await late.close();
    }
  });

  test('with a certificate and key it serves HTTPS (a client trusting the CA gets the verified tag)', async () => {
    const pki = await makeTestPki(dir, ['mirror']);
    const leaf = pki.leaves.mirror!;
    const tls = createMirrorServer({
      policy: file,
      tls: { cert: await readFile(leaf.certFile), key: await readFile(leaf.keyFile) },
      log: () => undefined,
    });
    const url = await tls.listen();
    try {
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const got = await new Promise<{ status: number; digest: string | undefined }>((resolve, reject) => {
        const req = request(`${url}${tag()}`, { ca: pki.caPem }, (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, digest: res.headers['docker-content-digest'] as string }),
          );
        });
        req.on('error', reject);
        req.end();
      });
      assert.deepEqual(got, { status: 200, digest: set.app.index.digest });
    } finally {
      await tls.close();
    }
  });
});
