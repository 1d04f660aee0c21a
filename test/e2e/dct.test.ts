// Docker Content Trust against the real notary-server + notary-signer, seeded with the real notary and docker
// CLIs: trust inspect equals `docker trust inspect`, verify passes and fails for the right reasons.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trustpin } from '../cli/run.js';
import {
  makeTempDir,
  type RunningNotary,
  type RunningRegistry,
  requireBinary,
  run,
  type SeededImages,
  type SeededTrust,
  seedRegistry,
  seedTrust,
  startNotary,
  startRegistry,
} from '../harness/index.js';

describe('Docker Content Trust with the real notary', () => {
  let reg: RunningRegistry;
  let notary: RunningNotary;
  let images: SeededImages;
  let trust: SeededTrust;
  let home: string;
  const flags = () => ['--trust-server', notary.url, '--trust-ca', notary.caFile];
  const tp = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    trustpin(args, { env: { TRUSTPIN_HOME: home, ...env } });

  before(async () => {
    [reg, notary] = await Promise.all([startRegistry({ mode: 'plain' }), startNotary()]);
    images = await seedRegistry(reg);
    trust = await seedTrust(notary, reg.host, images);
    home = await makeTempDir('tphome');
  });
  after(async () => {
    await Promise.allSettled([reg?.stop(), notary?.stop()]);
  });

  test('trust inspect --pretty and JSON equal docker trust inspect on the same repositories', async () => {
    for (const remote of [`${reg.host}/demo/app:1.0`, `${reg.host}/demo/app`, `${reg.host}/demo/liar:1.0`]) {
      const docker = await trust.dockerTrustInspect(remote, true);
      assert.equal(docker.code, 0, docker.stderr);
      const ours = await tp(['trust', 'inspect', '--pretty', ...flags(), remote]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, docker.stdout, remote);
      const dj = await trust.dockerTrustInspect(remote, false);
      const oj = await tp(['trust', 'inspect', ...flags(), remote]);
      assert.deepEqual(JSON.parse(oj.stdout), JSON.parse(dj.stdout), remote);
      assert.equal(oj.stdout, dj.stdout, `${remote} JSON byte-identical`);
    }
  });

  test('verify --dct: signed tag → index digest → manifests and configs, with pins in either ID form and a signer', async () => {
    const ref = `${reg.host}/demo/app:1.0`;
    const root = trust.keys.app.root;
    for (const pin of [root.keyId, root.canonicalId]) {
      const r = await tp([
        '--json',
        'verify',
        '--dct',
        ...flags(),
        '--root-key-id',
        pin,
        '--signer',
        `alice:${trust.keys.app.alice.slice(0, 12)}`,
        ref,
      ]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const j = JSON.parse(r.stdout);
      assert.equal(j.subject, images.demoApp.digest);
      assert.equal(j.pinned, `${reg.host}/demo/app@${images.demoApp.digest}`);
      assert.deepEqual(
        j.signers.map((s: { name: string }) => s.name),
        ['alice'],
      );
      const manifests = j.chain.find((n: { kind: string }) => n.kind === 'index').children;
      assert.deepEqual(
        manifests.map((m: { digest: string }) => m.digest).sort(),
        Object.values(images.demoApp.platforms)
          .map((p) => p.digest)
          .sort(),
      );
    }
    const text = await tp(['verify', '--dct', ...flags(), ref]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /root v4/);
    assert.match(text.stdout, /targets\/releases/);
    assert.match(text.stdout, new RegExp(`verified: ${reg.host}/demo/app@${images.demoApp.digest}`));
  });

  test('verify --dct fails: wrong pinned root key (both IDs printed), a signer who did not sign, an unsigned tag', async () => {
    const ref = `${reg.host}/demo/app:1.0`;
    const bad = await tp(['verify', '--dct', ...flags(), '--root-key-id', trust.keys.liar.root.keyId, ref]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ROOT_KEY_MISMATCH/);
    assert.ok(
      bad.stderr.includes(trust.keys.app.root.keyId) && bad.stderr.includes(trust.keys.app.root.canonicalId),
    );
    const bob = await tp(['verify', '--dct', ...flags(), '--signer', 'bob', ref]);
    assert.equal(bob.code, 1);
    assert.match(bob.stderr, /SIGNER_MISMATCH/);
    const unsigned = await tp(['verify', '--dct', ...flags(), `${reg.host}/demo/app:1.0-arm64`]);
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /TUF_TARGET_NOT_FOUND/);
  });

  test('archive, then verify with the notary server stopped: no trust data from the network', async () => {
    const dir = await makeTempDir('archive');
    const out = join(dir, 'app.trust.json');
    const a = await tp(['trust', 'archive', ...flags(), '--out', out, `${reg.host}/demo/app`]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stderr, /1\.root\.json, 2\.root\.json, 3\.root\.json, 4\.root\.json/);
    const fresh = await makeTempDir('tphome-archive');
    const unreachable = ['--trust-server', 'https://127.0.0.1:9'];
    const v = await trustpin(
      ['verify', '--dct', ...unreachable, '--trust-archive', out, `${reg.host}/demo/app:1.0`],
      { env: { TRUSTPIN_HOME: fresh } },
    );
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /rotated from v1/);
    // docker's own trust cache works as an archive too
    await trust.dockerTrustInspect(`${reg.host}/demo/liar:1.0`, false);
    const d = await trustpin(
      [
        'trust',
        'inspect',
        '--pretty',
        ...unreachable,
        '--trust-archive',
        join(trust.dockerConfig, 'trust'),
        `${reg.host}/demo/liar:1.0`,
      ],
      {
        env: { TRUSTPIN_HOME: fresh },
      },
    );
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, new RegExp(images.demoLiar.digest.slice(7)));
  });

  test('the registry serves another image for the signed tag: TAG_MOVED', async () => {
    const skopeo = requireBinary('skopeo', 'skopeo');
    await run(skopeo, [
      'copy',
      '--insecure-policy',
      '--dest-tls-verify=false',
      `oci:${images.layout.dir}:liar`,
      `docker://${reg.host}/demo/app:1.0-amd64`,
    ]);
    try {
      const r = await tp(['verify', '--dct', ...flags(), `${reg.host}/demo/app:1.0-amd64`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /TAG_MOVED/);
      assert.ok(r.stderr.includes(images.demoAppAmd64.digest), 'names the signed digest');
    } finally {
      await run(skopeo, [
        'copy',
        '--insecure-policy',
        '--dest-tls-verify=false',
        '--preserve-digests',
        `oci:${images.layout.dir}:amd64`,
        `docker://${reg.host}/demo/app:1.0-amd64`,
      ]);
    }
  });

  test('root replaced on the server after first use: TUF_ROOT_CHANGED (TOFU), like docker', async () => {
    const ref = `${reg.host}/demo/app:1.0`;
    const first = await tp(['verify', '--dct', ...flags(), ref]);
    assert.equal(first.code, 0, first.stderr);
    await notary.restart();
    await seedTrust(notary, reg.host, images);
    const r = await tp(['verify', '--dct', ...flags(), ref]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /TUF_ROOT_CHANGED/);
  });
});
