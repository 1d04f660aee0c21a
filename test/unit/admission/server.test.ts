// The webhook server over HTTP on loopback, judging images of the in-process registry by a real policy file:
// allowed and denied reviews, the patch, probes, Prometheus metrics (cache hits after a repeat), a body over the cap
// refused before it is read, a malformed review 400, and the policy reloaded when its file changes.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAX_ADMISSION_BODY_BYTES, WebhookServer } from '../../../src/admission/index.js';
import { type DemoSet, demoImages, MemoryRegistry } from '../../../src/demo/index.js';
import { RegistryClient } from '../../../src/registry/index.js';

describe('the webhook server', () => {
  let reg: MemoryRegistry;
  let host: string;
  let set: DemoSet;
  let server: WebhookServer;
  let url: string;
  let policyFile: string;
  const logs: Record<string, unknown>[] = [];
  const writePolicy = (scope: string) =>
    writeFileSync(
      policyFile,
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny }
rules:
  - name: demo
    scope: "${scope}"
    require: [ { digestPinned: true } ]
  - name: tools
    scope: "${scope.replace('demo', 'tools')}"
    require: [ { digestPinned: true } ]
`,
    );

  before(async () => {
    set = await demoImages();
    reg = new MemoryRegistry();
    host = await reg.listen();
    reg.push('demo/app', set.app, '1.0');
    const dir = mkdtempSync(join(tmpdir(), 'tp-webhook-'));
    policyFile = join(dir, 'policy.yaml');
    writePolicy(`${host}/demo/**`);
    server = new WebhookServer({
      policyFile,
      insecureHttp: true,
      client: new RegistryClient(),
      reloadIntervalMs: 50,
      log: (e) => logs.push(e),
    });
    url = (await server.listen(0, '127.0.0.1')).url;
  });
  after(async () => {
    await server.close();
    await reg.close();
  });

  const post = async (path: string, images: string[], uid = 'uid-1') => {
    const res = await fetch(`${url}${path}?timeout=10s`, {
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
          object: { kind: 'Pod', spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } },
        },
      }),
    });
    return { status: res.status, body: (await res.json()) as { response: Record<string, unknown> } };
  };

  test('/mutate pins a tag that a digestPinned rule accepts once pinned; /validate denies the bare tag and an image no rule covers', async () => {
    const m = await post('/mutate', [`${host}/demo/app:1.0`], 'a');
    assert.equal(m.status, 200);
    assert.equal(m.body.response.uid, 'a');
    assert.equal(m.body.response.allowed, true);
    const patch = JSON.parse(Buffer.from(String(m.body.response.patch), 'base64').toString()) as {
      value: string;
    }[];
    assert.equal(patch[0]!.value, `${host}/demo/app:1.0@${set.app.index.digest}`);
    const tag = await post('/validate', [`${host}/demo/app:1.0`], 't');
    assert.equal(tag.body.response.allowed, false);
    assert.match(JSON.stringify(tag.body), /NOT_PINNED/);
    const v = await post('/validate', [`${host}/other/x:1`], 'b');
    assert.equal(v.body.response.allowed, false);
    assert.match(String((v.body.response.status as { message: string }).message), /NO_MATCHING_RULE/);
  });

  test('probes and metrics: requests, denials by code, cache hits after a repeat', async () => {
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const pinned = `${host}/demo/app:1.0@${set.app.index.digest}`;
    await post('/validate', [pinned]);
    await post('/validate', [pinned]);
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /^trustpin_admission_requests_total\{allowed="true",endpoint="validate"\} \d+$/m);
    assert.match(text, /^trustpin_admission_denials_total\{code="NO_MATCHING_RULE"\} 1$/m);
    assert.match(text, /^trustpin_admission_duration_seconds_bucket\{endpoint="validate",le="\+Inf"\} \d+$/m);
    const hits = Number(/^trustpin_verdict_cache_hits_total (\d+)$/m.exec(text)?.[1]);
    assert.ok(hits >= 1, text);
    assert.ok(logs.some((l) => l.msg === 'admission' && l.allowed === true && typeof l.ms === 'number'));
  });

  test('a malformed review is 400; a body over the cap is refused from its length', async () => {
    const bad = await fetch(`${url}/validate`, { method: 'POST', body: '{"kind":"AdmissionReview"}' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'ADMISSION_INVALID');
    const big = await fetch(`${url}/validate`, {
      method: 'POST',
      headers: { 'content-length': String(MAX_ADMISSION_BODY_BYTES + 1) },
      body: Buffer.alloc(MAX_ADMISSION_BODY_BYTES + 1, 0x20),
    }).catch((e: Error) => e);
    if (!(big instanceof Error)) assert.equal(big.status, 413);
  });

  test('the policy is reloaded when its file changes; a broken file keeps the last good one', async () => {
    const pinned = `${host}/demo/app@${set.app.index.digest}`;
    assert.equal((await post('/validate', [pinned], 'c0')).body.response.allowed, true);
    writePolicy(`${host}/nothing/**`);
    await new Promise((r) => setTimeout(r, 300));
    const now = await post('/validate', [pinned], 'c');
    assert.equal(now.body.response.allowed, false, JSON.stringify(now.body));
    assert.match(JSON.stringify(now.body), /NO_MATCHING_RULE/);
    writeFileSync(policyFile, 'apiVersion: nope\n');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(logs.some((l) => l.msg === 'reload failed; keeping the last good one'));
    const still = await post('/validate', [pinned], 'd');
    assert.equal(still.body.response.allowed, false, 'the last good policy still applies');
  });
});
