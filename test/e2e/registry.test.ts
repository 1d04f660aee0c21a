// inspect and digest against the real docker-registry (plain, htpasswd, token), compared with what curl-style
// GET-by-digest and `skopeo inspect --raw` return; credentials from docker config.json and a credential helper.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { digestOf } from '../../src/digest/index.js';
import { trustpin } from '../cli/run.js';
import { makeTempDir, registryFixture, registryGet, requireBinary, run } from '../harness/index.js';

describe('plain registry', () => {
  const fx = registryFixture('plain');

  test('digest of the index and of each platform equals sha256 of the bytes served by digest', async () => {
    const { demoApp } = fx.images;
    const r = await trustpin(['digest', demoApp.ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${fx.registry.host}/demo/app@${demoApp.digest}`);
    // HTTPS is tried first on 127.0.0.1: no SNI is sent for an address, so Node prints no DEP0123 warning
    assert.doesNotMatch(r.stderr, /Warning/);
    const raw = await registryGet(fx.registry, `/v2/demo/app/manifests/${demoApp.digest}`);
    assert.equal(digestOf(raw.bytes), demoApp.digest);
    for (const [arch, p] of Object.entries(demoApp.platforms)) {
      const d = await trustpin(['digest', '--platform', `linux/${arch}`, demoApp.ref]);
      assert.equal(d.stdout.trim(), `${fx.registry.host}/demo/app@${p.digest}`, arch);
    }
  });

  test('inspect --raw equals `skopeo inspect --raw` byte for byte, for the index and the v2s2 mirror', async () => {
    const skopeo = requireBinary('skopeo', 'skopeo');
    for (const img of [fx.images.demoApp, fx.images.mirrorApp]) {
      const ours = await trustpin(['inspect', '--raw', img.ref]);
      assert.equal(ours.code, 0, ours.stderr);
      const theirs = await run(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${img.ref}`]);
      assert.ok(ours.raw.equals(theirs.stdout), img.ref);
      assert.equal(digestOf(ours.raw), img.digest);
    }
  });

  test('inspect --json walks the v2s2 mirror: other manifest digests, the same configs', async () => {
    const { demoApp, mirrorApp } = fx.images;
    const r = await trustpin(['inspect', '--json', mirrorApp.ref]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.notEqual(j.digest, demoApp.digest);
    for (const m of j.manifests) {
      const origin = demoApp.platforms[m.platform.architecture]!;
      assert.notEqual(m.digest, origin.digest);
      assert.equal(m.config.digest, origin.config);
      assert.equal(m.config.verified, true);
      assert.deepEqual(
        m.layers.map((l: { digest: string }) => l.digest),
        origin.layers,
      );
    }
  });
});

describe('htpasswd registry with docker config.json credentials', () => {
  const fx = registryFixture('htpasswd');

  test('credentials from $DOCKER_CONFIG/config.json are used; without them AUTH_REQUIRED (exit 2)', async () => {
    const dir = await makeTempDir('dockercfg');
    const [user, pass] = fx.registry.creds!.split(':');
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: { [fx.registry.host]: { auth: Buffer.from(`${user}:${pass}`).toString('base64') } },
      }),
    );
    const ok = await trustpin(['digest', fx.images.demoApp.ref], { env: { DOCKER_CONFIG: dir } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), `${fx.registry.host}/demo/app@${fx.images.demoApp.digest}`);
    const empty = await makeTempDir('dockercfg-empty');
    const no = await trustpin(['digest', fx.images.demoApp.ref], {
      env: { DOCKER_CONFIG: empty, REGISTRY_AUTH_FILE: join(empty, 'none.json'), HOME: empty },
    });
    assert.equal(no.code, 2);
    assert.match(no.stderr, /error\[AUTH_REQUIRED\][\s\S]*docker login/);
  });
});

describe('token registry with a credential helper', () => {
  const fx = registryFixture('token');

  test('anonymous pull tokens work; a credential helper on PATH supplies Basic credentials to the token server', async () => {
    const anon = await makeTempDir('anon');
    const a = await trustpin(['inspect', '--json', fx.images.demoApp.ref], {
      env: { DOCKER_CONFIG: anon, HOME: anon },
    });
    assert.equal(a.code, 0, a.stderr);
    assert.equal(JSON.parse(a.stdout).digest, fx.images.demoApp.digest);

    const dir = await makeTempDir('helper');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const [user, pass] = fx.registry.creds!.split(':');
    const helper = join(bin, 'docker-credential-test');
    writeFileSync(
      helper,
      `#!/bin/sh\nread host\nif [ "$host" = "${fx.registry.host}" ]; then echo '{"ServerURL":"${fx.registry.host}","Username":"${user}","Secret":"${pass}"}'; else echo "credentials not found in native keychain"; exit 1; fi\n`,
    );
    chmodSync(helper, 0o755);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [fx.registry.host]: 'test' } }));
    const before = fx.registry.tokenServer!.requests.length;
    const r = await trustpin(['digest', fx.images.demoLiar.ref], {
      env: { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${fx.registry.host}/demo/liar@${fx.images.demoLiar.digest}`);
    const reqs = fx.registry.tokenServer!.requests.slice(before);
    assert.ok(reqs.length >= 1);
    assert.ok(
      reqs.every((q) => q.authorization && q.user === user),
      'the token request carried the helper credentials',
    );
  });
});
