// Issue 17 (in-process latency): the verifiers a policy makes are kept for the next evaluate() with the same
// policy object, client, trust store directory, environment and clock — and for nothing else. A policy with other
// trust roots for the same scope, a reloaded policy (a new object, even from the same file) and a webhook whose
// policy file changed each get verifiers of their own: no verdict under one trust root comes from another's.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebhookServer } from '../../../src/admission/index.js';
import { buildImage } from '../../../src/demo/build.js';
import { MemoryRegistry } from '../../../src/demo/index.js';
import type { Digest } from '../../../src/digest/index.js';
import { verifierPool } from '../../../src/policy/evaluate.js';
import { evaluate, loadPolicy, type Policy } from '../../../src/policy/index.js';
import { RegistryClient } from '../../../src/registry/index.js';
import { cosignKey, signImage } from '../../harness/cosign.js';
import type { PushSet } from '../../harness/push.js';

const blobOf = (bytes: Buffer, mediaType = 'application/octet-stream') => ({
  mediaType,
  digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest,
  size: bytes.length,
  bytes,
});

function putSet(reg: MemoryRegistry, repo: string, set: PushSet): void {
  for (const b of set.blobs) reg.putBlob(repo, blobOf(b));
  for (const m of set.manifests) reg.putManifest(repo, blobOf(m.bytes, m.mediaType), m.tag);
}

describe('verifiers reused across evaluate() calls, per policy object', () => {
  let reg: MemoryRegistry;
  let host: string;
  let dir: string;
  let client: RegistryClient;
  let image: string;
  let fileA: string;
  let fileB: string;
  const keyA = cosignKey('p256');
  const keyB = cosignKey('p256');
  const policyText = (keyFile: string, scope: string) => `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny }
trustRoots:
  team: { publicKey: ${JSON.stringify(keyFile)} }
rules:
  - name: signed
    scope: ${JSON.stringify(scope)}
    require: [ { cosign: { trustRoot: team, tlog: optional } } ]
`;

  before(async () => {
    reg = new MemoryRegistry();
    host = await reg.listen();
    dir = mkdtempSync(join(tmpdir(), 'tp-pool-'));
    client = new RegistryClient({ credentials: async () => undefined });
    const img = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [[{ path: 'app/pool.txt', content: 'pooled\n' }]],
    });
    reg.putBlob('o/app', img.config);
    for (const l of img.layers) reg.putBlob('o/app', l);
    reg.putManifest('o/app', img.manifest, 'v1');
    const signed = signImage({
      image: { digest: img.manifest.digest, bytes: img.manifest.bytes, mediaType: img.manifest.mediaType },
      dockerReference: `${host}/o/app`,
      signer: keyA,
      format: 'legacy',
    });
    putSet(reg, 'o/app', signed.push);
    image = `${host}/o/app:v1`;
    writeFileSync(join(dir, 'a.pub'), keyA.pem);
    writeFileSync(join(dir, 'b.pub'), keyB.pem);
    fileA = join(dir, 'a.yaml');
    fileB = join(dir, 'b.yaml');
    writeFileSync(fileA, policyText(join(dir, 'a.pub'), `${host}/o/**`));
    writeFileSync(fileB, policyText(join(dir, 'b.pub'), `${host}/o/**`));
  });
  after(async () => {
    await client?.close();
    await reg?.close();
  });

  const outcome = async (p: Policy, o: { home?: string; client?: RegistryClient } = {}) =>
    (await evaluate(p, [image], { client, home: join(dir, 'home'), ...o })).verdicts[0]!.outcome;

  test('the same policy and client reuse one verifier; another client, clock or home gets its own', async () => {
    const a = loadPolicy(fileA);
    const o = { client, home: join(dir, 'home') };
    assert.equal(await outcome(a), 'pass');
    const pool = verifierPool(a, o, client).verifiers;
    const made = [...pool.values()];
    assert.equal(made.length, 1, 'one cosign requirement, one verifier');
    assert.equal(await outcome(a), 'pass');
    assert.deepEqual([...verifierPool(a, o, client).verifiers.values()], made, 'the second call made none');
    const other = new RegistryClient({ credentials: async () => undefined });
    try {
      assert.equal(await outcome(a, { client: other }), 'pass');
      const theirs = [...verifierPool(a, { ...o, client: other }, other).verifiers.values()];
      assert.equal(theirs.length, 1);
      assert.notEqual(theirs[0], made[0], 'another client, another verifier');
    } finally {
      await other.close();
    }
    assert.equal(verifierPool(a, { ...o, now: () => 0 }, client).verifiers.size, 0, 'another clock');
    assert.equal(
      verifierPool(a, { ...o, home: join(dir, 'elsewhere') }, client).verifiers.size,
      0,
      'another home',
    );
  });

  test('two policies with other keys for the same scope never share a verdict, interleaved or at once', async () => {
    const a = loadPolicy(fileA);
    const b = loadPolicy(fileB);
    for (let i = 0; i < 2; i++) {
      assert.equal(await outcome(a), 'pass', 'signed by key A');
      assert.equal(await outcome(b), 'fail', 'key B did not sign it');
    }
    const together = await Promise.all([outcome(b), outcome(a), outcome(b), outcome(a)]);
    assert.deepEqual(together, ['fail', 'pass', 'fail', 'pass']);
    const va = [...verifierPool(a, { client, home: join(dir, 'home') }, client).verifiers.values()];
    const vb = [...verifierPool(b, { client, home: join(dir, 'home') }, client).verifiers.values()];
    assert.equal(va.length, 1);
    assert.equal(vb.length, 1);
    assert.notEqual(va[0], vb[0]);
  });

  test('a reloaded policy (a new object, even from the same file) does not use the old verifiers', async () => {
    const o = { client, home: join(dir, 'home') };
    const first = loadPolicy(fileA);
    assert.equal(await outcome(first), 'pass');
    const old = [...verifierPool(first, o, client).verifiers.values()];
    const again = loadPolicy(fileA);
    assert.equal(again.digest, first.digest, 'the same file');
    assert.equal(verifierPool(again, o, client).verifiers.size, 0, 'nothing carried over');
    assert.equal(await outcome(again), 'pass');
    const now = [...verifierPool(again, o, client).verifiers.values()];
    assert.equal(now.length, 1);
    assert.notEqual(now[0], old[0]);
  });

  test('a caller that gives no client gets nothing pooled (its client is new each time)', async () => {
    const a = loadPolicy(fileA);
    const r = await evaluate(a, [image], { home: join(dir, 'home') });
    assert.equal(r.verdicts[0]!.outcome, 'pass');
    assert.equal(verifierPool(a, { client, home: join(dir, 'home') }, client).verifiers.size, 0);
  });

  test('the webhook: after its policy file changes to another key, the signed image is denied', async () => {
    const policyFile = join(dir, 'webhook.yaml');
    writeFileSync(policyFile, policyText(join(dir, 'a.pub'), `${host}/o/**`));
    const server = new WebhookServer({
      policyFile,
      insecureHttp: true,
      client,
      home: join(dir, 'home'),
      reloadIntervalMs: 3_600_000,
      log: () => undefined,
    });
    const { url } = await server.listen(0, '127.0.0.1');
    try {
      const review = async (uid: string) => {
        const res = await fetch(`${url}/validate?timeout=10s`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            request: {
              uid,
              kind: { group: '', version: 'v1', kind: 'Pod' },
              operation: 'CREATE',
              namespace: 'default',
              object: { kind: 'Pod', spec: { containers: [{ name: 'c', image }] } },
            },
          }),
        });
        return ((await res.json()) as { response: { allowed: boolean } }).response.allowed;
      };
      assert.equal(await review('1'), true, 'signed by key A, the policy trusts A');
      // another key file, another path length: the file's size (part of its stamp) changes as well as its text
      writeFileSync(join(dir, 'key-b-renamed.pub'), keyB.pem);
      writeFileSync(policyFile, policyText(join(dir, 'key-b-renamed.pub'), `${host}/o/**`));
      server.reload();
      assert.equal(await review('2'), false, 'the reloaded policy trusts only B');
    } finally {
      await server.close();
    }
  });
});
