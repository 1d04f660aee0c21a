// Self-test of the harness: each auth mode starts a real registry, seeds it, and serves by digest exactly the
// bytes the builder made; token mode challenges anonymous callers and accepts the token server's tokens.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type ExpectedIndex,
  fetchToken,
  MANIFEST_ACCEPT,
  parseChallenge,
  parseScope,
  type RegistryFixture,
  type RegistryMode,
  registryFixture,
  registryGet,
} from './harness/index.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function assertManifestByDigest(fx: RegistryFixture, repository: string, digest: string) {
  const res = await registryGet(fx.registry, `/v2/${repository}/manifests/${digest}`);
  assert.equal(res.status, 200, `${repository}@${digest}`);
  assert.equal(sha256(res.bytes), digest);
  assert.equal(res.headers.get('docker-content-digest'), digest);
}

async function assertBlob(fx: RegistryFixture, repository: string, digest: string) {
  const res = await registryGet(fx.registry, `/v2/${repository}/blobs/${digest}`);
  assert.equal(res.status, 200, `${repository} blob ${digest}`);
  assert.equal(sha256(res.bytes), digest);
}

async function assertIndex(fx: RegistryFixture, idx: ExpectedIndex) {
  await assertManifestByDigest(fx, idx.repository, idx.digest);
  for (const p of Object.values(idx.platforms)) {
    await assertManifestByDigest(fx, idx.repository, p.digest);
    await assertBlob(fx, idx.repository, p.config);
    for (const l of p.layers) await assertBlob(fx, idx.repository, l);
  }
}

function seededSuite(mode: RegistryMode) {
  describe(`harness: ${mode} registry`, () => {
    const fx = registryFixture(mode);

    it('serves demo/app by digest with the builder bytes', async () => {
      const { demoApp } = fx.images;
      await assertIndex(fx, demoApp);
      const byTag = await registryGet(fx.registry, '/v2/demo/app/manifests/1.0');
      assert.equal(byTag.status, 200);
      assert.deepEqual(byTag.bytes, demoApp.bytes);
    });

    it('needs an OCI Accept header even by digest (distribution 2.8)', async () => {
      // testbed.md says "by digest returns the stored bytes whatever the Accept": true for Docker types only.
      const { demoApp, mirrorApp } = fx.images;
      const oci = await registryGet(fx.registry, `/v2/demo/app/manifests/${demoApp.digest}`, {
        accept: '*/*',
      });
      assert.equal(oci.status, 404);
      const docker = await registryGet(fx.registry, `/v2/mirror/app/manifests/${mirrorApp.digest}`, {
        accept: '*/*',
      });
      assert.equal(sha256(docker.bytes), mirrorApp.digest);
    });

    it('serves the per-arch tags and the liar image', async () => {
      const { demoAppAmd64, demoAppArm64, demoLiar, demoApp } = fx.images;
      assert.equal(demoAppAmd64.digest, demoApp.platforms.amd64?.digest);
      assert.equal(demoAppArm64.digest, demoApp.platforms.arm64?.digest);
      for (const img of [demoAppAmd64, demoAppArm64, demoLiar]) {
        const res = await registryGet(fx.registry, `/v2/${img.repository}/manifests/${img.tag}`);
        assert.equal(sha256(res.bytes), img.digest, img.ref);
        await assertBlob(fx, img.repository, img.config);
      }
      assert.notEqual(demoLiar.config, demoAppAmd64.config);
    });

    it('makes mirrors with other manifest digests and the same configs', async () => {
      const { demoApp, mirrorApp, mirror2App } = fx.images;
      await assertIndex(fx, mirrorApp);
      await assertIndex(fx, mirror2App);
      assert.equal(mirrorApp.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
      assert.notEqual(mirrorApp.digest, demoApp.digest);
      assert.notEqual(mirror2App.digest, demoApp.digest);
      for (const arch of ['amd64', 'arm64']) {
        const [orig, m1, m2] = [demoApp, mirrorApp, mirror2App].map((i) => i.platforms[arch]);
        assert.ok(orig && m1 && m2, arch);
        assert.notEqual(m1.digest, orig.digest, 'v2s2 re-encodes the platform manifests');
        assert.equal(m2.digest, orig.digest, 'the pretty index keeps the platform manifests');
        assert.equal(m1.config, orig.config);
        assert.equal(m2.config, orig.config);
      }
    });
  });
}

seededSuite('plain');
seededSuite('htpasswd');
seededSuite('token');

describe('harness: auth behaviour', () => {
  const basic = registryFixture('htpasswd', { seed: false });
  const token = registryFixture('token');

  it('htpasswd mode: 401 without credentials, 200 with them', async () => {
    assert.equal((await registryGet(basic.registry, '/v2/', { anonymous: true })).status, 401);
    assert.equal((await registryGet(basic.registry, '/v2/')).status, 200);
  });

  it('token mode: 401 without a token, 200 with one from the token server', async () => {
    const reg = token.registry;
    const path = `/v2/demo/app/manifests/${token.images.demoApp.digest}`;
    const denied = await registryGet(reg, path, { noToken: true });
    assert.equal(denied.status, 401);
    const challenge = parseChallenge(denied.headers.get('www-authenticate') ?? '');
    assert.equal(challenge.realm, reg.tokenServer?.realm);
    assert.equal(challenge.scope, 'repository:demo/app:pull');

    const before = reg.tokenServer?.requests.length ?? 0;
    const anonymous = await fetchToken(challenge);
    const ok = await fetch(`${reg.url}${path}`, {
      headers: { authorization: `Bearer ${anonymous}`, accept: MANIFEST_ACCEPT },
    });
    assert.equal(ok.status, 200);
    assert.equal(sha256(Buffer.from(await ok.arrayBuffer())), token.images.demoApp.digest);
    const rec = reg.tokenServer?.requests.slice(before);
    assert.deepEqual(
      rec?.map((r) => [r.path, r.query.scope, r.authorization]),
      [['/token', ['repository:demo/app:pull'], false]],
    );
  });

  it('token mode: anonymous tokens cannot push; wrong passwords get no token', async () => {
    const reg = token.registry;
    const ts = reg.tokenServer!;
    const push = await fetchToken({
      realm: ts.realm,
      service: ts.service,
      scope: 'repository:demo/app:pull,push',
    });
    const claims = JSON.parse(Buffer.from(push.split('.')[1] ?? '', 'base64url').toString('utf8'));
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'demo/app', actions: ['pull'] }]);
    const bad = `Basic ${Buffer.from('testuser:wrong').toString('base64')}`;
    await assert.rejects(fetchToken({ realm: ts.realm, service: ts.service }, bad), /401/);
  });

  it('token scopes split on the first and last colon', () => {
    assert.deepEqual(parseScope('repository:127.0.0.1:5000/demo/app:pull,push'), {
      type: 'repository',
      name: '127.0.0.1:5000/demo/app',
      actions: ['pull', 'push'],
    });
  });
});
