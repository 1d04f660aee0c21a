// Docker Content Trust against the real notary-server + notary-signer, seeded with the real notary and docker
// CLIs: trust inspect equals `docker trust inspect`, verify passes and fails for the right reasons.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Publisher } from '../../src/testing/index.js';
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
import { HostileNotary } from '../hostile-notary/server.js';

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
      assert.equal(j.ok, true);
      assert.equal(j.subject.digest, images.demoApp.digest);
      assert.equal(j.pinned, `${reg.host}/demo/app@${images.demoApp.digest}`);
      assert.equal(j.rootTrust, 'pinned');
      assert.deepEqual(j.problems, []);
      assert.deepEqual(
        j.claims.map((s: { type: string; name: string }) => `${s.type}:${s.name}`),
        ['dct:releases', 'dct:alice'],
      );
      const index = j.chain.nodes.find((n: { kind: string }) => n.kind === 'index');
      const manifests = j.chain.edges
        .filter((e: { from: string; kind: string }) => e.from === index.id && e.kind === 'contains')
        .map((e: { to: string }) => e.to.replace(/^manifest:/, ''));
      assert.deepEqual(
        manifests.sort(),
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

  test('trust key-id prints the ID docker and notary use for a key file docker generated', async () => {
    const liar = trust.guns.liar;
    const ids = trust.delegations[liar]?.['targets/bob'] ?? [];
    assert.ok(ids.length === 1, JSON.stringify(trust.delegations[liar]));
    const r = await tp(['trust', 'key-id', join(trust.dir, 'keys', 'bob.pub')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split(/\s+/)[0], ids[0]);
    const missing = await tp(['trust', 'key-id', join(trust.dir, 'keys', 'nobody.pub')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /error\[IO_ERROR\]/);
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

  test('pins are per repository: a forged archive and another notary server get TUF_ROOT_CHANGED; first use is visible and refusable', async () => {
    const env = { TRUSTPIN_HOME: await makeTempDir('tphome-pins') };
    const gun = `${reg.host}/demo/app`;
    const ref = `${gun}:1.0`;
    const verify = async (extra: string[]) => {
      const r = await trustpin(['--json', 'verify', '--dct', ...extra, ref], { env });
      return { code: r.code, j: JSON.parse(r.stdout), stderr: r.stderr };
    };
    const refused = await verify([...flags(), '--no-first-use']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.j.ok, false);
    assert.equal(refused.j.problems[0].code, 'FIRST_USE_REFUSED');
    assert.ok(!existsSync(join(env.TRUSTPIN_HOME, 'dct')), 'a refused first use stores nothing');
    const first = await verify(flags());
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.j.rootTrust, 'first-use');
    assert.equal((await verify(flags())).j.rootTrust, 'cached');

    // someone else's notary data for the same repository: own root keys, CN=GUN, the same tag and digest
    const forged = new Publisher(gun, { now: Date.now() }).addTarget('targets', '1.0', {
      digest: images.demoApp.digest.slice(7),
      length: images.demoApp.size,
    });
    const files = forged.publish();
    const dir = await makeTempDir('forged');
    const archive = join(dir, 'forged.json');
    await writeFile(
      archive,
      JSON.stringify({
        format: 'trustpin-trust-archive/v1',
        createdAt: new Date().toISOString(),
        server: 'https://notary.evil.example',
        repositories: [
          {
            gun,
            fetchedAt: new Date().toISOString(),
            files: Object.fromEntries([...files].map(([k, v]) => [k, v.toString('base64')])),
          },
        ],
      }),
    );
    const viaArchive = await verify(['--trust-archive', archive]);
    assert.equal(viaArchive.code, 1, viaArchive.stderr);
    assert.equal(viaArchive.j.problems[0].code, 'TUF_ROOT_CHANGED');
    const evil = await HostileNotary.start(gun, files);
    try {
      const other = ['--trust-server', evil.url, '--trust-ca', evil.caFile];
      const viaServer = await verify(other);
      assert.equal(viaServer.code, 1, viaServer.stderr);
      assert.equal(viaServer.j.problems[0].code, 'TUF_ROOT_CHANGED');
      assert.match(viaServer.j.problems[0].hint, /--root-key-id/);
      // recovery: an explicit pin wins over the cached root, and replaces it once verification under it passes
      const repinned = await verify([...other, '--root-key-id', forged.rootKey.id]);
      assert.equal(repinned.code, 0, repinned.stderr);
      assert.equal(repinned.j.rootTrust, 'pinned');
      assert.equal(
        (await verify(flags())).j.problems[0]?.code,
        'TUF_ROOT_CHANGED',
        'the new root is the pin now',
      );
      // trust pin / trust forget: no store directories deleted by hand
      const forget = await trustpin(['trust', 'forget', gun], { env });
      assert.equal(forget.code, 0, forget.stderr);
      assert.equal((await verify(flags())).j.rootTrust, 'first-use');
      const pin = await trustpin(['trust', 'pin', gun, trust.keys.app.root.keyId], { env });
      assert.equal(pin.code, 0, pin.stderr);
      assert.equal((await verify(flags())).j.rootTrust, 'pinned');
      const pinnedOther = await verify(other);
      assert.equal(pinnedOther.code, 1);
      assert.equal(pinnedOther.j.problems[0].code, 'TUF_ROOT_CHANGED');
    } finally {
      await evil.close();
    }
  });

  test('trust inspect: operational errors exit 2; the default server guess names --trust-server and leaves no store directory', async () => {
    const env = { TRUSTPIN_HOME: await makeTempDir('tphome-ops') };
    const down = await trustpin(
      ['trust', 'inspect', '--trust-server', 'https://127.0.0.1:9', `${reg.host}/demo/app`],
      { env },
    );
    assert.equal(down.code, 2, down.stderr);
    assert.match(down.stderr, /error\[NETWORK_ERROR\]/);
    // a CA that did not sign the notary server's certificate: the TLS error, never a plain-HTTP retry
    const stranger = await HostileNotary.start('unused');
    try {
      const wrongCa = await trustpin(
        [
          'trust',
          'inspect',
          '--trust-server',
          notary.url,
          '--trust-ca',
          stranger.caFile,
          `${reg.host}/demo/app`,
        ],
        { env },
      );
      assert.equal(wrongCa.code, 2, wrongCa.stderr);
      assert.match(wrongCa.stderr, /error\[TLS_ERROR\]/);
      assert.doesNotMatch(wrongCa.stderr, /not a registry API v2 endpoint|answered 400/);
    } finally {
      await stranger.close();
    }
    // the registry itself is no notary server (and speaks plain HTTP): docker's default guess for it fails
    const guess = await trustpin(['trust', 'inspect', `${reg.host}/demo/app`], {
      env: { ...env, DOCKER_CONTENT_TRUST_SERVER: '' },
    });
    assert.equal(guess.code, 2, guess.stderr);
    assert.match(guess.stderr, /--trust-server/);
    assert.ok(!existsSync(join(env.TRUSTPIN_HOME, 'dct')), 'no empty store directory left behind');
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
