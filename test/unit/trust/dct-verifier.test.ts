// The DCT verifier as a library user holds it: created once, verify() many times; a verification failure is a
// verdict with coded problems (never a throw), an operational failure rejects, and an abort cancels the work.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RegistryClient } from '../../../src/registry/index.js';
import {
  DctPublisher,
  demoImages,
  MemoryRegistry,
  startTestNotary,
  type TestNotary,
} from '../../../src/testing/index.js';
import { createDctVerifier, type DctVerifierOptions } from '../../../src/trust/index.js';
import { HostileNotary } from '../../hostile-notary/server.js';

describe('createDctVerifier', () => {
  let registry: MemoryRegistry;
  let host: string;
  let notary: TestNotary;
  let publisher: DctPublisher;
  const gun = () => `${host}/demo/app`;
  const options = async (o: DctVerifierOptions = {}): Promise<DctVerifierOptions> => ({
    home: await mkdtemp(join(tmpdir(), 'tp-verifier-')),
    trustServer: notary.url,
    trustCa: notary.ca,
    env: {},
    ...o,
  });

  before(async () => {
    registry = new MemoryRegistry();
    host = await registry.listen();
    const { app } = await demoImages();
    registry.push('demo/app', app, '1.0');
    notary = await startTestNotary();
    publisher = new DctPublisher(`${host}/demo/app`).sign('1.0', app.index.digest, app.index.size);
    publisher.sign('wrong-size', app.index.digest, app.index.size + 1);
    notary.serve(publisher);
    registry.push('demo/app', app, 'wrong-size');
  });
  after(async () => {
    await Promise.allSettled([registry.close(), notary.close()]);
  });

  test('one verifier, many verifications: first use, then the cached root', async () => {
    const v = createDctVerifier(await options());
    const first = await v.verify(`${gun()}:1.0`);
    assert.equal(first.ok, true, JSON.stringify(first.problems));
    assert.equal(first.rootTrust, 'first-use');
    assert.deepEqual(
      first.warnings.map((w) => w.code),
      ['ROOT_FIRST_USE'],
    );
    const claim = first.claims[0];
    assert.equal(first.claims.length, 1);
    assert.ok(claim?.type === 'dct' && claim.role === 'targets' && claim.name === 'Repo Admin');
    assert.ok(claim.keyIds.length > 0);
    assert.ok(first.chain.nodes.some((n) => n.kind === 'registry-tag' && n.ok));
    const again = await v.verify(`${gun()}:1.0`);
    assert.equal(again.rootTrust, 'cached');
    assert.deepEqual(again.warnings, []);
    assert.equal(again.subject.digest, first.subject.digest);
  });

  test('verification failures are coded problems in a verdict, with the failed link in the chain', async () => {
    const wrongKey = createDctVerifier(await options({ rootKeyIds: ['0'.repeat(64)] }));
    const a = await wrongKey.verify(`${gun()}:1.0`);
    assert.equal(a.ok, false);
    assert.equal(a.problems[0]?.code, 'ROOT_KEY_MISMATCH');
    assert.equal(a.chain.nodes.find((n) => n.id === 'root')?.ok, false);
    const size = await createDctVerifier(await options()).verify(`${gun()}:wrong-size`);
    assert.equal(size.ok, false);
    assert.equal(size.problems[0]?.code, 'SIZE_MISMATCH');
    const refused = await createDctVerifier(await options({ allowFirstUse: false })).verify(`${gun()}:1.0`);
    assert.equal(refused.problems[0]?.code, 'FIRST_USE_REFUSED');
  });

  test('operational failures reject: no notary server there', async () => {
    const client = new RegistryClient({
      env: {},
      credentials: async () => undefined,
      attempts: 1,
      timeoutMs: 3000,
    });
    const v = createDctVerifier(
      await options({ client, trustCa: undefined, trustServer: 'https://127.0.0.1:9' }),
    );
    await assert.rejects(v.verify(`${gun()}:1.0`), (e: { code?: string }) => e.code === 'NETWORK_ERROR');
    await client.close();
  });

  test('an AbortSignal cancels a verification stalled on the notary server: ABORTED, fast', async () => {
    const stalled = await HostileNotary.start(gun(), publisher.files());
    stalled.hook = () => new Promise<boolean>(() => undefined);
    try {
      const v = createDctVerifier(await options({ trustServer: stalled.url, trustCa: stalled.caPem }));
      const t0 = Date.now();
      await assert.rejects(
        v.verify(`${gun()}:1.0`, { signal: AbortSignal.timeout(300) }),
        (e: { code?: string }) => e.code === 'ABORTED',
      );
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    } finally {
      await stalled.close();
    }
  });
});
