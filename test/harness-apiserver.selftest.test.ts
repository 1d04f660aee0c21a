// Self-tests of the API-server emulator (test/harness/apiserver.ts) against tiny webhooks written here: it must
// call webhooks as kube-apiserver does, and it must be able to fail — every broken answer the API server rejects
// is rejected here, and decided by the configuration's failurePolicy.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ApiServerEmulator,
  applyJsonPatch,
  loadFixture,
  loadWebhookConfigs,
  type WebhookConfigs,
  type WebhookSpec,
} from './harness/apiserver.js';
import { makeTestPki, type TestPki } from './harness/tls.js';

const SVC = 'trustpin-webhook.trustpin-system.svc';
const HOST = '127.0.0.1:5000';

interface Seen {
  path: string;
  url: string;
  headers: IncomingHttpHeaders;
  review: any;
}
interface Answer {
  status?: number;
  /** an object is sent as JSON; a string as is */
  body: unknown;
  delayMs?: number;
}
type Handler = (review: any, path: string) => Answer;

interface Webhook {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function startWebhook(pki: TestPki, handler: Handler): Promise<Webhook> {
  const leaf = pki.leaves[SVC]!;
  const [cert, key] = await Promise.all([readFile(leaf.certFile), readFile(leaf.keyFile)]);
  const seen: Seen[] = [];
  const server: Server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      seen.push({ path, url: req.url ?? '', headers: req.headers, review });
      const a = handler(review, path);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json' });
        res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A correct AdmissionReview answer to `review`. */
function answer(review: any, response: Record<string, unknown> = {}): Answer {
  return {
    body: {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: true, ...response },
    },
  };
}

function jsonPatch(ops: unknown[]): Record<string, unknown> {
  return { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') };
}

/** The deploy configs with one change to every webhook. */
function withEach(configs: WebhookConfigs, change: (w: WebhookSpec) => void): WebhookConfigs {
  const copy = structuredClone(configs);
  for (const c of [...copy.validating, ...copy.mutating]) for (const w of c.webhooks) change(w);
  return copy;
}

describe('API-server emulator', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let configs: WebhookConfigs;
  const open: Webhook[] = [];
  const webhook = async (h: Handler) => {
    const w = await startWebhook(pki, h);
    open.push(w);
    return w;
  };

  before(async () => {
    pki = await makeTestPki(await mkdtemp(join(tmpdir(), 'trustpin-apiserver-pki-')), [SVC]);
    otherPki = await makeTestPki(await mkdtemp(join(tmpdir(), 'trustpin-apiserver-pki2-')), [SVC]);
    configs = loadWebhookConfigs();
  });
  after(async () => {
    await Promise.all(open.map((w) => w.close()));
    await Promise.all([pki.dir, otherPki.dir].map((d) => rm(d, { recursive: true, force: true })));
  });

  test('reads both webhook configurations of deploy/kubernetes/webhook.yaml', () => {
    assert.equal(configs.validating.length, 1);
    assert.equal(configs.mutating.length, 1);
    const v = configs.validating[0]!.webhooks[0]!;
    const m = configs.mutating[0]!.webhooks[0]!;
    assert.equal(v.name, 'validate.trustpin.dev');
    assert.equal(m.name, 'mutate.trustpin.dev');
    assert.deepEqual(v.clientConfig.service, {
      name: 'trustpin-webhook',
      namespace: 'trustpin-system',
      path: '/validate',
      port: 443,
    });
    assert.equal(m.clientConfig.service?.path, '/mutate');
    for (const w of [v, m]) {
      assert.equal(w.timeoutSeconds, 10);
      assert.equal(w.failurePolicy, 'Fail');
      assert.equal(w.sideEffects, 'None');
      assert.deepEqual(w.admissionReviewVersions, ['v1']);
      assert.ok(w.rules?.some((r) => r.resources.includes('pods/ephemeralcontainers')));
    }
    assert.equal(m.reinvocationPolicy, 'IfNeeded');
    assert.equal(
      configs.mutating[0]!.metadata.annotations?.['cert-manager.io/inject-ca-from'],
      'trustpin-system/trustpin-webhook',
    );
  });

  test('loadFixture puts the registry host into every REGISTRY/ image and leaves others alone', () => {
    const pod = loadFixture('pod-multi', HOST);
    const images = [...pod.spec.initContainers, ...pod.spec.containers].map((c: any) => c.image);
    assert.equal(images.length, 5);
    for (const i of images) assert.ok(i.startsWith(`${HOST}/demo/`), i);
    assert.equal(
      loadFixture('pod-index-docker-io.yaml', HOST).spec.containers[0].image,
      'index.docker.io/library/nginx:1.27',
    );
  });

  test('an allowing validator: the request is what the API server sends, and the answer is taken', async () => {
    const w = await webhook((r) =>
      answer(r, { warnings: ['looked at it'], auditAnnotations: { verdict: 'pass' } }),
    );
    const api = new ApiServerEmulator({ configs, validating: { url: w.url, caBundle: pki.caPem } });
    const res = await api.admit(loadFixture('pod', HOST));
    assert.equal(res.allowed, true, res.error);
    assert.deepEqual(res.warnings, ['looked at it']);
    assert.deepEqual(res.auditAnnotations, { 'validate.trustpin.dev/verdict': 'pass' });
    assert.equal(res.calls.length, 1);
    assert.equal(res.calls[0]!.httpStatus, 200);
    assert.equal(w.seen.length, 1);
    const s = w.seen[0]!;
    assert.equal(s.url, '/validate?timeout=10s');
    assert.equal(s.headers['user-agent'], 'kube-apiserver-admission');
    assert.equal(s.headers['content-type'], 'application/json');
    const q = s.review.request;
    assert.equal(s.review.apiVersion, 'admission.k8s.io/v1');
    assert.equal(s.review.kind, 'AdmissionReview');
    assert.match(q.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(q.kind, { group: '', version: 'v1', kind: 'Pod' });
    assert.deepEqual(q.resource, { group: '', version: 'v1', resource: 'pods' });
    assert.deepEqual(q.requestKind, q.kind);
    assert.deepEqual(q.requestResource, q.resource);
    assert.equal(q.subResource, undefined);
    assert.equal(q.operation, 'CREATE');
    assert.equal(q.name, 'shop-frontend');
    assert.equal(q.namespace, 'shop');
    assert.equal(q.oldObject, null);
    assert.equal(q.dryRun, false);
    assert.equal(q.options.kind, 'CreateOptions');
    assert.equal(q.userInfo.username, 'kubernetes-admin');
    assert.equal(q.object.spec.containers[0].image, `${HOST}/demo/app:1.0`);
    // A second request gets another uid.
    await api.admit(loadFixture('pod', HOST), { dryRun: true });
    assert.notEqual(w.seen[1]!.review.request.uid, q.uid);
    assert.equal(w.seen[1]!.review.request.dryRun, true);
    assert.deepEqual(w.seen[1]!.review.request.options.dryRun, ['All']);
  });

  test('audit annotations the API server would drop: a key with a second "/", a name over 63 characters', async () => {
    const w = await webhook((r) =>
      answer(r, {
        auditAnnotations: {
          'spec.containers.0.image': 'ok',
          'trustpin.dev/spec.containers.0.image': 'two slashes',
          ['n'.repeat(64)]: 'too long',
          'bad key!': 'not a name',
        },
      }),
    );
    const res = await new ApiServerEmulator({
      configs,
      validating: { url: w.url, caBundle: pki.caPem },
    }).admit(loadFixture('pod', HOST));
    assert.equal(res.allowed, true);
    assert.deepEqual(res.auditAnnotations, { 'validate.trustpin.dev/spec.containers.0.image': 'ok' });
    assert.deepEqual(
      res.droppedAuditAnnotations.map((d) => d.key).sort(),
      [
        'validate.trustpin.dev/bad key!',
        `validate.trustpin.dev/${'n'.repeat(64)}`,
        'validate.trustpin.dev/trustpin.dev/spec.containers.0.image',
      ].sort(),
    );
  });

  test('a denial with a status message is the API server denial kubectl shows', async () => {
    const w = await webhook((r) =>
      answer(r, { allowed: false, status: { code: 403, message: 'image demo/app:1.0 is not pinned' } }),
    );
    const api = new ApiServerEmulator({ configs, validating: { url: w.url, caBundle: pki.caPem } });
    const res = await api.admit(loadFixture('deployment', HOST));
    assert.equal(res.allowed, false);
    assert.equal(res.deniedBy, 'validate.trustpin.dev');
    assert.equal(res.status?.code, 403);
    assert.equal(
      res.status?.message,
      'admission webhook "validate.trustpin.dev" denied the request: image demo/app:1.0 is not pinned',
    );
    assert.equal(res.error, undefined);
    // without a message
    const w2 = await webhook((r) => answer(r, { allowed: false }));
    const res2 = await new ApiServerEmulator({
      configs,
      validating: { url: w2.url, caBundle: pki.caPem },
    }).admit(loadFixture('pod', HOST));
    assert.match(res2.status?.message ?? '', /denied the request without explanation$/);
  });

  test('a mutating JSON Patch is applied, and the validator judges the patched object', async () => {
    const pinned = `${HOST}/demo/app:1.0@sha256:${'a'.repeat(64)}`;
    const m = await webhook((r) =>
      answer(r, {
        ...jsonPatch([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: pinned }]),
        warnings: ['pinned'],
      }),
    );
    const v = await webhook((r) => {
      const image = r.request.object.spec.template.spec.containers[0].image;
      return answer(r, image === pinned ? {} : { allowed: false, status: { message: `saw ${image}` } });
    });
    const api = new ApiServerEmulator({
      configs,
      mutating: { url: m.url, caBundle: pki.caPem },
      validating: { url: v.url, caBundle: pki.caPem },
    });
    const res = await api.admit(loadFixture('deployment', HOST));
    assert.equal(res.allowed, true, res.status?.message);
    assert.equal(res.object.spec.template.spec.containers[0].image, pinned);
    assert.equal(res.object.spec.template.spec.containers[1].image, `${HOST}/demo/proxy:3.1`);
    assert.deepEqual(res.patches, [
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: pinned },
    ]);
    assert.deepEqual(res.warnings, ['pinned']);
    assert.deepEqual(
      res.calls.map((c) => c.webhook),
      ['mutate.trustpin.dev', 'validate.trustpin.dev'],
    );
    assert.equal(m.seen[0]!.url, '/mutate?timeout=10s');
    assert.equal(
      m.seen[0]!.review.request.object.spec.template.spec.containers[0].image,
      `${HOST}/demo/app:1.0`,
    );
    assert.deepEqual(m.seen[0]!.review.request.resource, {
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
    });
  });

  test('a mutator that denies stops the request before the validator', async () => {
    const m = await webhook((r) => answer(r, { allowed: false, status: { message: 'no' } }));
    const v = await webhook((r) => answer(r));
    const res = await new ApiServerEmulator({
      configs,
      mutating: { url: m.url, caBundle: pki.caPem },
      validating: { url: v.url, caBundle: pki.caPem },
    }).admit(loadFixture('pod', HOST));
    assert.equal(res.allowed, false);
    assert.equal(res.deniedBy, 'mutate.trustpin.dev');
    assert.equal(v.seen.length, 0);
  });

  // Each broken answer: an error the API server decides by failurePolicy.
  const broken: {
    name: string;
    side: 'validating' | 'mutating';
    handler: Handler;
    error: RegExp;
    timeoutMs?: number;
  }[] = [
    {
      name: 'the wrong uid',
      side: 'validating',
      handler: (r) => answer({ request: { ...r.request, uid: '00000000-0000-4000-8000-000000000000' } }),
      error: /expected response\.uid="[0-9a-f-]{36}", got "00000000-0000-4000-8000-000000000000"/,
    },
    {
      name: 'the wrong apiVersion',
      side: 'validating',
      handler: (r) => {
        const a = answer(r);
        (a.body as any).apiVersion = 'admission.k8s.io/v1beta1';
        return a;
      },
      error:
        /expected webhook response of admission\.k8s\.io\/v1, Kind=AdmissionReview, got admission\.k8s\.io\/v1beta1/,
    },
    {
      name: 'a patch without patchType',
      side: 'mutating',
      handler: (r) => answer(r, { patch: jsonPatch([]).patch }),
      error: /returned response\.patch but not response\.patchType/,
    },
    {
      name: 'a patch from a validating webhook',
      side: 'validating',
      handler: (r) => answer(r, jsonPatch([])),
      error: /validating webhook may not return response\.patch/,
    },
    {
      name: 'allowed missing',
      side: 'validating',
      handler: (r) => answer(r, { allowed: undefined }),
      error: /response\.allowed is undefined/,
    },
    {
      name: 'a body that is not JSON',
      side: 'validating',
      handler: () => ({ body: '<html>oops</html>' }),
      error: /received invalid webhook response: .*JSON/,
    },
    {
      name: 'HTTP 500',
      side: 'validating',
      handler: () => ({ status: 500, body: 'internal' }),
      error: /responded with status 500/,
    },
    {
      name: 'an answer slower than the timeout',
      side: 'validating',
      handler: (r) => ({ ...answer(r), delayMs: 1500 }),
      error: /context deadline exceeded/,
      timeoutMs: 300,
    },
  ];
  for (const b of broken) {
    for (const policy of ['Fail', 'Ignore'] as const) {
      test(`${b.name}: failurePolicy ${policy} ${policy === 'Fail' ? 'denies' : 'allows'}`, async () => {
        const w = await webhook(b.handler);
        const api = new ApiServerEmulator({
          configs: policy === 'Fail' ? configs : withEach(configs, (x) => (x.failurePolicy = 'Ignore')),
          [b.side]: { url: w.url, caBundle: pki.caPem },
          ...(b.timeoutMs ? { timeoutMs: b.timeoutMs } : {}),
        });
        const started = Date.now();
        const res = await api.admit(loadFixture('pod', HOST));
        assert.equal(w.seen.length, 1);
        assert.match(res.calls[0]!.error ?? '', b.error);
        if (b.timeoutMs) assert.ok(Date.now() - started < 1400, 'the emulator waited past its deadline');
        const name = b.side === 'validating' ? 'validate.trustpin.dev' : 'mutate.trustpin.dev';
        if (policy === 'Fail') {
          assert.equal(res.allowed, false);
          assert.equal(res.status?.code, 500);
          assert.match(res.error ?? '', new RegExp(`failed calling webhook "${name.replace(/\./g, '\\.')}"`));
          assert.match(res.error ?? '', b.error);
        } else {
          assert.equal(res.allowed, true, res.error);
          assert.equal(res.error, undefined);
          assert.equal(
            res.auditAnnotations[`failed-open.${b.side}.webhook.admission.k8s.io/round_0_index_0`],
            name,
          );
        }
      });
    }
  }

  test('a caBundle that is not the server certificate’s CA: TLS fails, decided by failurePolicy', async () => {
    const w = await webhook((r) => answer(r));
    const wrong = { url: w.url, caBundle: otherPki.caPem };
    const fail = await new ApiServerEmulator({ configs, validating: wrong }).admit(loadFixture('pod', HOST));
    assert.equal(fail.allowed, false);
    assert.match(fail.error ?? '', /certificate/i);
    assert.equal(fail.calls[0]!.httpStatus, 0);
    const ignore = await new ApiServerEmulator({
      configs: withEach(configs, (x) => (x.failurePolicy = 'Ignore')),
      validating: wrong,
    }).admit(loadFixture('pod', HOST));
    assert.equal(ignore.allowed, true);
    assert.equal(w.seen.length, 0);
    // the right CA but a name the certificate does not hold
    const badName = await new ApiServerEmulator({
      configs,
      validating: { url: w.url, caBundle: pki.caPem },
      servername: 'other.trustpin-system.svc',
    }).admit(loadFixture('pod', HOST));
    assert.equal(badName.allowed, false);
    assert.match(badName.error ?? '', /altnames|does not match|Hostname/i);
    // and the right one works (servername 127.0.0.1 is also in the test certificate)
    const ok = await new ApiServerEmulator({
      configs,
      validating: { url: w.url, caBundle: Buffer.from(pki.caPem) },
      servername: '127.0.0.1',
    }).admit(loadFixture('pod', HOST));
    assert.equal(ok.allowed, true, ok.error);
  });

  test('namespaceSelector: objects in trustpin-system and kube-system are never sent', async () => {
    const w = await webhook((r) => answer(r, { allowed: false }));
    const api = new ApiServerEmulator({
      configs,
      validating: { url: w.url, caBundle: pki.caPem },
      mutating: { url: w.url, caBundle: pki.caPem },
    });
    const podIn = (ns: string) => {
      const pod = loadFixture('pod', HOST);
      pod.metadata.namespace = ns;
      return pod;
    };
    for (const ns of ['trustpin-system', 'kube-system']) {
      const res = await api.admit(podIn(ns));
      assert.equal(res.allowed, true);
      assert.deepEqual(res.calls, []);
      assert.equal(res.object.metadata.namespace, ns);
    }
    const bare = loadFixture('pod', HOST);
    delete bare.metadata.namespace;
    const set = await api.admit(bare, { namespace: 'trustpin-system' });
    assert.deepEqual(set.calls, []);
    assert.equal(
      set.object.metadata.namespace,
      'trustpin-system',
      'the request namespace is set on the object',
    );
    assert.equal(w.seen.length, 0);
    await assert.rejects(api.admit(loadFixture('pod', HOST), { namespace: 'other' }), /does not match/);
    // and any other namespace is sent (mutator denies first, so one call)
    const res = await api.admit(podIn('kube-public'));
    assert.equal(res.allowed, false);
    assert.equal(w.seen.length, 1);
    assert.equal(w.seen[0]!.review.request.namespace, 'kube-public');
  });

  test('pods/ephemeralcontainers: matched on UPDATE with subResource, not matched without the rule', async () => {
    const w = await webhook((r) => answer(r));
    const api = new ApiServerEmulator({ configs, validating: { url: w.url, caBundle: pki.caPem } });
    const pod = loadFixture('pod-ephemeral', HOST);
    const old = structuredClone(pod);
    delete old.spec.ephemeralContainers;
    const res = await api.admit(pod, { subResource: 'ephemeralcontainers', oldObject: old });
    assert.equal(res.allowed, true, res.error);
    const q = w.seen[0]!.review.request;
    assert.equal(q.operation, 'UPDATE');
    assert.equal(q.subResource, 'ephemeralcontainers');
    assert.deepEqual(q.resource, { group: '', version: 'v1', resource: 'pods' });
    assert.deepEqual(q.kind, { group: '', version: 'v1', kind: 'Pod' });
    assert.equal(q.options.kind, 'UpdateOptions');
    assert.equal(q.object.spec.ephemeralContainers[0].image, `${HOST}/demo/debug:1.0`);
    assert.equal(q.oldObject.spec.ephemeralContainers, undefined);
    // A configuration listing only `pods` does not see the subresource (the reason the rule must be there).
    const podsOnly = withEach(configs, (x) => {
      for (const r of x.rules ?? [])
        r.resources = r.resources.filter((n) => n !== 'pods/ephemeralcontainers');
    });
    const res2 = await new ApiServerEmulator({
      configs: podsOnly,
      validating: { url: w.url, caBundle: pki.caPem },
    }).admit(pod, { subResource: 'ephemeralcontainers', oldObject: old });
    assert.deepEqual(res2.calls, []);
    assert.equal(w.seen.length, 1);
  });

  test('every workload kind is sent with its resource and group; other kinds are not', async () => {
    const w = await webhook((r) => answer(r));
    const api = new ApiServerEmulator({ configs, validating: { url: w.url, caBundle: pki.caPem } });
    const expect: [string, string, string][] = [
      ['pod', '', 'pods'],
      ['deployment', 'apps', 'deployments'],
      ['replicaset', 'apps', 'replicasets'],
      ['statefulset', 'apps', 'statefulsets'],
      ['daemonset', 'apps', 'daemonsets'],
      ['job', 'batch', 'jobs'],
      ['cronjob', 'batch', 'cronjobs'],
      ['replicationcontroller', '', 'replicationcontrollers'],
    ];
    for (const [fixture, group, resource] of expect) {
      const res = await api.admit(loadFixture(fixture, HOST), { operation: 'UPDATE' });
      assert.equal(res.calls.length, 1, fixture);
      assert.deepEqual(w.seen.at(-1)!.review.request.resource, { group, version: 'v1', resource });
      assert.equal(w.seen.at(-1)!.review.request.operation, 'UPDATE');
    }
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'shop' }, data: {} };
    assert.deepEqual((await api.admit(cm)).calls, []);
    const oldApi = { ...loadFixture('deployment', HOST), apiVersion: 'extensions/v1beta1' };
    assert.deepEqual((await api.admit(oldApi)).calls, []);
    assert.equal(w.seen.length, expect.length);
  });

  test('a patch that does not apply is refused whatever the failurePolicy (as the API server does)', async () => {
    const m = await webhook((r) =>
      answer(r, jsonPatch([{ op: 'replace', path: '/spec/containers/7/image', value: 'x' }])),
    );
    const res = await new ApiServerEmulator({
      configs: withEach(configs, (x) => (x.failurePolicy = 'Ignore')),
      mutating: { url: m.url, caBundle: pki.caPem },
    }).admit(loadFixture('pod', HOST));
    assert.equal(res.allowed, false);
    assert.match(res.error ?? '', /index 7 is out of range/);
    assert.equal(res.object.spec.containers[0].image, `${HOST}/demo/app:1.0`);
    assert.deepEqual(res.patches, []);
  });

  test('applyJsonPatch: RFC 6902 ops on JSON pointers, and refusal of bad ops and paths', () => {
    const doc = { a: { 'b/c': [1, 2], 'd~e': 'x' } };
    assert.deepEqual(applyJsonPatch(doc, [{ op: 'add', path: '/a/b~1c/-', value: 3 }]), {
      a: { 'b/c': [1, 2, 3], 'd~e': 'x' },
    });
    assert.deepEqual(applyJsonPatch(doc, [{ op: 'add', path: '/a/b~1c/0', value: 0 }]).a['b/c'], [0, 1, 2]);
    assert.deepEqual(applyJsonPatch(doc, [{ op: 'remove', path: '/a/d~0e' }]), { a: { 'b/c': [1, 2] } });
    assert.deepEqual(applyJsonPatch(doc, [{ op: 'test', path: '/a/d~0e', value: 'x' }]), doc);
    assert.deepEqual(applyJsonPatch(doc, [{ op: 'move', from: '/a/d~0e', path: '/z' }]), {
      a: { 'b/c': [1, 2] },
      z: 'x',
    });
    assert.deepEqual(doc, { a: { 'b/c': [1, 2], 'd~e': 'x' } }, 'the input is not changed');
    const refused: [unknown, RegExp][] = [
      [{ op: 'test', path: '/a/d~0e', value: 'y' }, /test failed/],
      [{ op: 'replace', path: '/a/missing', value: 1 }, /does not exist/],
      [{ op: 'remove', path: '/nope/x' }, /does not exist/],
      [{ op: 'add', path: 'a', value: 1 }, /not a JSON pointer/],
      [{ op: 'add', path: '/a/b~1c/01', value: 1 }, /not an array index/],
      [{ op: 'add', path: '/a/b~1c/5', value: 1 }, /out of range/],
      [{ op: 'add', path: '/a/x~2', value: 1 }, /bad escape/],
      [{ op: 'replace', path: '/a' }, /no value/],
      [{ op: 'merge', path: '/a', value: {} }, /unknown op "merge"/],
      [{ path: '/a', value: {} }, /unknown op/],
    ];
    for (const [op, re] of refused) assert.throws(() => applyJsonPatch(doc, [op]), re, JSON.stringify(op));
  });
});
