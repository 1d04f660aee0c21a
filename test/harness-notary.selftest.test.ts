// Self-test of the notary harness: a real registry and a real notary-server/signer, seeded with the notary and
// docker CLIs; the real `docker trust inspect` and raw TUF over HTTPS must show what the seed published.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  notaryGet,
  type RunningNotary,
  type RunningRegistry,
  type SeededImages,
  type SeededTrust,
  seedRegistry,
  seedTrust,
  startNotary,
  startRegistry,
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
      `# start ${ms(t0, t1)} ms, seed registry ${ms(t1, t2)} ms, seed trust ${ms(t2, t3)} ms\n` +
        trust.timings.map((t) => `#   ${t.step}: ${t.ms} ms`).join('\n'),
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
});
