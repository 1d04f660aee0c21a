// `trustpin serve webhook` end to end: the real CLI serving HTTPS, called by the project's API-server emulator
// with the project's own webhook configuration (deploy/kubernetes/webhook.yaml), judging images on the real
// docker-registry by a policy requiring a cosign signature: every pod-bearing kind mutated to TAG@DIGEST then
// validated; an unsigned image denied with its rule and code; UPDATE judging only what changed (ephemeral
// containers); the webhook's own namespace never sent; audit mode allowing with annotations the API server keeps;
// replicas giving the same answer; a deadline that cannot be met denied in time.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ApiServerEmulator,
  loadFixture,
  loadWebhookConfigs,
  type WebhookTarget,
} from '../harness/apiserver.js';
import {
  cosignKey,
  type ManagedProcess,
  makeTempDir,
  pushKeyedSignature,
  type RunningRegistry,
  type SeededImages,
  seedRegistry,
  startRegistry,
} from '../harness/index.js';
import { copyImage } from '../harness/policy.js';
import { makeTestPki, type TestPki } from '../harness/tls.js';
import { WEBHOOK_SVC as SVC, startWebhookProcess } from '../harness/webhook-load.js';

/** the fixtures' images, all signed copies of demo/app:1.0-amd64 but the unsigned ones named below */
const SIGNED = [
  'demo/config-init:0.4',
  'demo/app:1.0',
  'demo/proxy:3.1',
  'demo/migrate:1.0',
  'demo/exporter:2.3',
  'demo/shipper:5.0',
];
const UNSIGNED = 'demo/debug:1.0';

describe('serve webhook with the API-server emulator, the real registry and cosign signatures', () => {
  let reg: RunningRegistry;
  let images: SeededImages;
  let dir: string;
  let pki: TestPki;
  let hang: Server;
  const webhooks: { proc: ManagedProcess; target: WebhookTarget }[] = [];
  const digests: Record<string, string> = {};

  async function startWebhook(
    policy: string,
    name: string,
  ): Promise<{ proc: ManagedProcess; target: WebhookTarget }> {
    const { proc, url } = await startWebhookProcess({ policy, pki, name, dir });
    const w = { proc, target: { url, caBundle: pki.caPem } };
    webhooks.push(w);
    return w;
  }

  const policyFile = async (name: string, mode: string, extra = '') => {
    const path = join(dir, name);
    await writeFile(
      path,
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: ${mode}, noMatch: deny }
trustRoots:
  team: { publicKey: ${JSON.stringify(join(dir, 'cosign.pub'))} }
rules:
  - name: signed-demo
    scope: "${reg.host}/demo/**"
    require: [ { cosign: { trustRoot: team, tlog: optional } } ]
${extra}`,
    );
    return path;
  };

  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    images = await seedRegistry(reg);
    dir = await makeTempDir('tp-webhook-e2e');
    pki = await makeTestPki(dir, [SVC]);
    const key = cosignKey('p256');
    await writeFile(join(dir, 'cosign.pub'), key.pem);
    for (const r of [...SIGNED, UNSIGNED]) {
      const [repo, tag] = r.split(':') as [string, string];
      const digest = await copyImage(reg.host, 'demo/app:1.0-amd64', repo, tag);
      digests[r] = digest;
      if (r === UNSIGNED) continue;
      await pushKeyedSignature(reg.host, repo, digest, `${reg.host}/${repo}`, key);
    }
    hang = createServer(() => undefined).listen(0, '127.0.0.1');
  });
  after(async () => {
    await Promise.allSettled(webhooks.map((w) => w.proc.stop()));
    hang?.close();
    await reg?.stop();
  });

  test('every pod-bearing kind: mutated to TAG@DIGEST (the registry’s digests), then validated and allowed', async () => {
    const { target } = await startWebhook(await policyFile('enforce.yaml', 'enforce'), 'webhook-a');
    const api = new ApiServerEmulator({
      configs: loadWebhookConfigs(),
      validating: target,
      mutating: target,
    });
    for (const kind of [
      'pod',
      'deployment',
      'replicaset',
      'statefulset',
      'daemonset',
      'job',
      'cronjob',
      'replicationcontroller',
      'pod-multi',
    ]) {
      const obj = loadFixture(kind, reg.host);
      const res = await api.admit(obj);
      assert.equal(res.allowed, true, `${kind}: ${res.status?.message ?? res.error}`);
      const text = JSON.stringify(res.object);
      for (const r of SIGNED)
        if (JSON.stringify(obj).includes(`${reg.host}/${r}"`))
          assert.ok(text.includes(`${reg.host}/${r}@${digests[r]}"`), `${kind}: ${r} pinned to its digest`);
      assert.doesNotMatch(text, /"image":"[^"@]+"/, `${kind}: every image pinned`);
      assert.ok(res.patches.length > 0);
      assert.deepEqual(res.droppedAuditAnnotations, []);
    }
  });

  test('an unsigned image is denied with the container, the rule (file:line) and the code; nothing is patched', async () => {
    const { target } = webhooks[0]!;
    const api = new ApiServerEmulator({
      configs: loadWebhookConfigs(),
      validating: target,
      mutating: target,
    });
    const pod = loadFixture('pod', reg.host);
    pod.spec.containers[0].image = `${reg.host}/${UNSIGNED}`;
    const res = await api.admit(pod);
    assert.equal(res.allowed, false);
    assert.match(
      res.status?.message ?? '',
      new RegExp(
        `${UNSIGNED.replace('.', '\\.')} \\(container \\S+\\) refused by rule signed-demo \\(.*enforce\\.yaml:\\d+\\)`,
      ),
    );
    assert.match(res.status?.message ?? '', /SIGNATURE_NOT_FOUND|REQUIREMENT_NOT_MET/);
  });

  test('kubectl debug (UPDATE pods/ephemeralcontainers): only the new ephemeral image is judged; the webhook namespace is never sent', async () => {
    const { target } = webhooks[0]!;
    const api = new ApiServerEmulator({
      configs: loadWebhookConfigs(),
      validating: target,
      mutating: target,
    });
    const old = loadFixture('pod-ephemeral', reg.host);
    old.spec.ephemeralContainers = [];
    old.spec.containers = old.spec.containers.map((c: { image: string }) => ({
      ...c,
      image: `${reg.host}/demo/app@sha256:${'0'.repeat(63)}1`,
    }));
    const now = loadFixture('pod-ephemeral', reg.host);
    now.spec.containers = old.spec.containers;
    const res = await api.admit(now, { oldObject: old, subResource: 'ephemeralcontainers' });
    assert.equal(res.allowed, false, 'the unsigned debug image is refused');
    assert.match(res.status?.message ?? '', /demo\/debug:1\.0 \(ephemeralContainer /);
    assert.doesNotMatch(
      res.status?.message ?? '',
      /demo\/app@/,
      'the unchanged containers (a bogus digest) were not judged',
    );
    const sys = loadFixture('pod', reg.host);
    sys.metadata.namespace = 'trustpin-system';
    sys.spec.containers[0].image = `${reg.host}/${UNSIGNED}`;
    const skipped = await api.admit(sys, { namespace: 'trustpin-system' });
    assert.equal(skipped.allowed, true);
    assert.deepEqual(skipped.calls, []);
  });

  test('audit mode: an unsigned image is allowed, with audit annotations the API server keeps; a second replica answers alike', async () => {
    const policy = await policyFile('audit.yaml', 'audit');
    const [a, b] = await Promise.all([
      startWebhook(policy, 'webhook-audit-1'),
      startWebhook(policy, 'webhook-audit-2'),
    ]);
    for (const w of [a, b]) {
      const api = new ApiServerEmulator({
        configs: loadWebhookConfigs(),
        validating: w.target,
        mutating: w.target,
      });
      const pod = loadFixture('pod', reg.host);
      pod.spec.containers[0].image = `${reg.host}/${UNSIGNED}`;
      const res = await api.admit(pod);
      assert.equal(res.allowed, true, res.status?.message);
      assert.deepEqual(res.droppedAuditAnnotations, []);
      const keys = Object.keys(res.auditAnnotations).filter((k) => k.startsWith('validate.trustpin.dev/'));
      assert.ok(keys.length >= 1, JSON.stringify(res.auditAnnotations));
      assert.match(Object.values(res.auditAnnotations).join(' '), /demo\/debug:1\.0 .* \(audit\)/);
    }
  });

  test('a registry that never answers: denied before the API server’s deadline (fail closed)', async () => {
    const hangPort = (hang.address() as { port: number }).port;
    const policy = await policyFile(
      'hang.yaml',
      'enforce',
      `  - name: hanging
    scope: "127.0.0.1:${hangPort}/**"
    require: [ { digestPinned: true } ]
`,
    );
    const { target } = await startWebhook(policy, 'webhook-hang');
    const api = new ApiServerEmulator({
      configs: loadWebhookConfigs(),
      validating: target,
      mutating: target,
    });
    const pod = loadFixture('pod', reg.host);
    pod.spec.containers = [{ name: 'x', image: `127.0.0.1:${hangPort}/slow/app:1` }];
    delete pod.spec.initContainers;
    const t = performance.now();
    const res = await api.admit(pod);
    const ms = performance.now() - t;
    assert.equal(res.allowed, false);
    assert.match(
      res.status?.message ?? res.error ?? '',
      /did not finish within 9\.0s; denied \(fail closed\)/,
    );
    assert.ok(ms < 10_000 + 500, `answered in ${ms.toFixed(0)} ms, within the 10 s the configuration allows`);
    void images;
  });
});
