// Self-test of the notary harness: a real registry and a real notary-server/signer, seeded with the notary and
// docker CLIs; the real `docker trust inspect` and raw TUF over HTTPS must show what the seed published.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { trustpin } from './cli/run.js';
import {
  makeTempDir,
  notaryGet,
  type RunningNotary,
  type RunningRegistry,
  removeDir,
  type SeededImages,
  type SeededTrust,
  seedRegistry,
  seedTrust,
  startNotary,
  startRegistry,
  startTokenServer,
  type TokenServer,
} from './harness/index.js';

const hex = (digest: string) => digest.replace(/^sha256:/, '');

describe('harness: notary-server + signer seeded by the real CLIs', () => {
  let registry: RunningRegistry | undefined;
  let notary: RunningNotary | undefined;
  let images: SeededImages;
  let trust: SeededTrust;

  before(async () => {
    const t0 = performance.now();
    // Assign before anything can throw, so `after` stops whatever did start.
    const [reg, nty] = await Promise.allSettled([startRegistry({ mode: 'plain' }), startNotary()]);
    if (reg.status === 'fulfilled') registry = reg.value;
    if (nty.status === 'fulfilled') notary = nty.value;
    if (reg.status === 'rejected') throw reg.reason;
    if (nty.status === 'rejected') throw nty.reason;
    const t1 = performance.now();
    images = await seedRegistry(registry!);
    const t2 = performance.now();
    trust = await seedTrust(notary!, registry!.host, images);
    const t3 = performance.now();
    const ms = (a: number, b: number) => Math.round(b - a);
    console.log(
      `start ${ms(t0, t1)} ms, seed registry ${ms(t1, t2)} ms, seed trust ${ms(t2, t3)} ms\n` +
        trust.timings.map((t) => `  ${t.step}: ${t.ms} ms`).join('\n'),
    );
  });

  after(async () => {
    await Promise.allSettled([notary?.stop(), registry?.stop()]);
  });

  it('docker trust inspect --pretty shows 1.0 → index digest, signed by alice', async () => {
    const ref = `${trust.guns.app}:1.0`;
    const res = await trust.dockerTrustInspect(ref, true);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`Signatures for ${ref.replace(/\./g, '\\.')}`));
    const row = res.stdout.split('\n').find((l) => l.startsWith('1.0 '));
    assert.ok(row, res.stdout);
    assert.deepEqual(row.trim().split(/\s+/), ['1.0', hex(images.demoApp.digest), 'alice']);
    // signer table: alice with the truncated canonical key ID
    assert.match(res.stdout, new RegExp(`^alice\\s+${trust.keys.app.alice.slice(0, 12)}$`, 'm'));
    assert.match(res.stdout, new RegExp(`Root Key:\\t${trust.keys.app.root.keyId}`));
    assert.match(res.stdout, new RegExp(`Repository Key:\\t${trust.keys.app.targets}`));
  });

  it('docker trust inspect (JSON) shows the liar tag signed by bob', async () => {
    const res = await trust.dockerTrustInspect(`${trust.guns.liar}:1.0`, false);
    assert.equal(res.code, 0, res.stderr);
    const [info] = JSON.parse(res.stdout) as {
      SignedTags: { SignedTag: string; Digest: string; Signers: string[] }[];
      Signers: { Name: string; Keys: { ID: string }[] }[];
    }[];
    assert.deepEqual(info?.SignedTags, [
      { SignedTag: '1.0', Digest: hex(images.demoLiar.digest), Signers: ['bob'] },
    ]);
    assert.deepEqual(info?.Signers, [{ Name: 'bob', Keys: [{ ID: trust.keys.liar.bob }] }]);
  });

  it('root.json versions 1..4 exist, 5 does not', async () => {
    for (const v of [1, 2, 3, 4]) {
      const res = await notaryGet(notary!, `/v2/${trust.guns.app}/_trust/tuf/${v}.root.json`);
      assert.equal(res.status, 200, `${v}.root.json`);
      assert.equal(JSON.parse(res.body.toString('utf8')).signed.version, v);
    }
    const five = await notaryGet(notary!, `/v2/${trust.guns.app}/_trust/tuf/5.root.json`);
    assert.equal(five.status, 404);
  });

  it('root v4 is signed by the old and the new root key', async () => {
    const get = async (v: number) =>
      JSON.parse(
        (await notaryGet(notary!, `/v2/${trust.guns.app}/_trust/tuf/${v}.root.json`)).body.toString(),
      );
    const [v3, v4] = [await get(3), await get(4)];
    const oldId: string = v3.signed.roles.root.keyids[0];
    const newId: string = v4.signed.roles.root.keyids[0];
    assert.notEqual(oldId, newId);
    assert.equal(newId, trust.keys.app.root.keyId);
    const signers = (v4.signatures as { keyid: string }[]).map((s) => s.keyid).sort();
    assert.deepEqual(signers, [oldId, newId].sort());
    assert.ok(trust.keys.app.privateRootKeys.includes(trust.keys.app.root.canonicalId));
    assert.equal(trust.keys.app.privateRootKeys.length, 2);
  });

  it('notary list and delegation list match the seed', async () => {
    const { result, rows } = await trust.notaryList(trust.guns.app, 'targets/alice');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      rows.map((r) => [r.name, r.digest, r.size]),
      [
        ['1.0', hex(images.demoApp.digest), images.demoApp.size],
        ['1.0-amd64', hex(images.demoAppAmd64.digest), images.demoAppAmd64.size],
      ],
    );
    assert.deepEqual(trust.delegations[trust.guns.app], {
      'targets/alice': [trust.keys.app.alice],
      'targets/releases': [trust.keys.app.alice],
    });
    assert.deepEqual(trust.delegations[trust.guns.liar], {
      'targets/bob': [trust.keys.liar.bob],
      'targets/releases': [trust.keys.liar.bob],
    });
  });

  // Last: it wipes the server. The first seed's caches (from the tests above) now pin the old roots.
  it('restart() wipes the data; a re-seed with new roots trips the old TOFU caches', async () => {
    const t0 = performance.now();
    await notary!.restart();
    const gone = await notaryGet(notary!, `/v2/${trust.guns.app}/_trust/tuf/root.json`);
    assert.equal(gone.status, 404);
    const reseeded = await seedTrust(notary!, registry!.host, images);
    console.log(`restart + re-seed ${Math.round(performance.now() - t0)} ms`);
    assert.notEqual(reseeded.keys.app.root.keyId, trust.keys.app.root.keyId);

    const fresh = await reseeded.dockerTrustInspect(`${trust.guns.app}:1.0`, false);
    assert.equal(fresh.code, 0, fresh.stderr);
    const stale = await trust.dockerTrustInspect(`${trust.guns.app}:1.0`, false);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /no signatures or cannot access/);
    const { result } = await trust.notaryList(trust.guns.app);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /could not rotate trust to a new trusted root/);
  });
});

describe('harness: notary-server behind bearer tokens', () => {
  let tokenDir: string | undefined;
  let tokens: TokenServer | undefined;
  let notary: RunningNotary | undefined;

  after(async () => {
    await notary?.stop();
    await tokens?.stop();
    if (tokenDir) await removeDir(tokenDir);
  });

  it('challenges anonymous callers; the CLIs publish with NOTARY_AUTH / config.json credentials', async () => {
    tokenDir = await makeTempDir('notary-tokens');
    // `*` is what notary-server wants for `key rotate snapshot -r`; push alone gets a 401 there.
    const users = { testuser: 'testpass' };
    tokens = await startTokenServer({
      dir: tokenDir,
      service: 'notary-server',
      users,
      userActions: ['pull', 'push', '*'],
    });
    const { realm, service, issuer, certFile } = tokens;
    notary = await startNotary({ tokenAuth: { realm, service, issuer, rootCertBundle: certFile } });
    const gun = '127.0.0.1:5000/demo/app';
    const challenged = await notaryGet(notary, `/v2/${gun}/_trust/tuf/root.json`, { noToken: true });
    assert.equal(challenged.status, 401);
    assert.match(
      String(challenged.headers['www-authenticate']),
      new RegExp(`scope="repository:${gun}:pull"`),
    );

    // No registry needed: the targets only have to look like digests.
    const target = (c: string, size: number) => ({ digest: `sha256:${c.repeat(64)}`, size });
    const images = { demoApp: target('a', 491), demoAppAmd64: target('b', 345), demoLiar: target('c', 345) };
    const trust = await seedTrust(notary, '127.0.0.1:5000', images, {
      auth: { username: 'testuser', password: 'testpass' },
    });
    const inspect = await trust.dockerTrustInspect(`${gun}:1.0`, false);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(JSON.parse(inspect.stdout)[0].SignedTags[0].Digest, 'a'.repeat(64));
    // trustpin through the same token auth: anonymous pull token with scope repository:<GUN>:pull
    const before = tokens.requests.length;
    const home = await makeTempDir('tphome-token');
    const ours = await trustpin(
      ['trust', 'inspect', '--trust-server', notary.url, '--trust-ca', notary.caFile, `${gun}:1.0`],
      {
        env: { TRUSTPIN_HOME: home },
      },
    );
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, inspect.stdout);
    assert.ok(
      tokens.requests
        .slice(before)
        .some((r) => r.query.scope?.includes(`repository:${gun}:pull`) && r.status === 200),
    );
    // anonymous pull token, as docker gets it
    assert.equal((await notaryGet(notary, `/v2/${gun}/_trust/tuf/4.root.json`)).status, 200);
    assert.ok(
      tokens.requests.some((r) => r.user === 'testuser' && r.query.scope?.some((s) => s.endsWith(':*'))),
    );
  });
});
