// The webhook over TLS: the API server's view (a CA bundle and the Service name) is accepted, and when the mounted
// certificate is replaced (a cert-manager renewal swaps the Secret's files) new connections get the new
// certificate without a restart; a broken replacement keeps the last good one.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebhookServer } from '../../../src/admission/index.js';
import { makeTestPki, type TestPki } from '../../harness/tls.js';

const SVC = 'trustpin-webhook.trustpin-system.svc';

function ready(url: string, ca: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(`${url}/readyz`, { ca, servername: SVC, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

describe('the webhook over TLS', () => {
  let a: TestPki;
  let b: TestPki;
  let server: WebhookServer;
  let url: string;
  let cert: string;
  let key: string;
  const logs: Record<string, unknown>[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-webhook-tls-'));
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    [a, b] = await Promise.all([makeTestPki(join(dir, 'a'), [SVC]), makeTestPki(join(dir, 'b'), [SVC])]);
    cert = join(dir, 'tls.crt');
    key = join(dir, 'tls.key');
    copyFileSync(a.leaves[SVC]!.certFile, cert);
    copyFileSync(a.leaves[SVC]!.keyFile, key);
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      'apiVersion: trustpin.dev/v1alpha1\nkind: TrustPolicy\nrules:\n  - name: all\n    scope: "**"\n    require: [ { digestPinned: true } ]\n',
    );
    server = new WebhookServer({
      policyFile: policy,
      tlsCert: cert,
      tlsKey: key,
      reloadIntervalMs: 50,
      log: (e) => logs.push(e),
    });
    url = (await server.listen(0, '127.0.0.1')).url;
  });
  after(async () => {
    await server.close();
  });

  test('serves the certificate for the Service name; a renewed certificate is served without a restart', async () => {
    assert.equal(await ready(url, a.caPem), 200);
    assert.notEqual(await ready(url, b.caPem), 200, 'another CA does not verify it');
    // the renewal: new key and certificate (another CA, to tell them apart)
    copyFileSync(b.leaves[SVC]!.keyFile, key);
    copyFileSync(b.leaves[SVC]!.certFile, cert);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await ready(url, b.caPem), 200);
    assert.notEqual(await ready(url, a.caPem), 200);
    assert.ok(logs.some((l) => l.msg === 'certificate reloaded'));
  });

  test('a replacement that does not load (a key without its certificate) keeps the last good one', async () => {
    writeFileSync(cert, 'not a certificate\n');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(logs.some((l) => l.msg === 'reload failed; keeping the last good one'));
    assert.equal(await ready(url, b.caPem), 200);
  });
});
