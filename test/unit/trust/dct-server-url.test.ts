// A trust server that is not a URL (from --trust-server or DOCKER_CONTENT_TRUST_SERVER) is USAGE with the fix,
// not a TypeError from new URL() deep in loading (found by review; issue 11).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trustServerFor } from '../../../src/trust/dct/load.js';
import { trustpin } from '../../cli/run.js';

test('trustServerFor refuses a server that is not a URL, naming where it came from', () => {
  assert.throws(() => trustServerFor('ghcr.io', 'not a url'), { code: 'USAGE', hint: /option trustServer/ });
  assert.throws(() => trustServerFor('ghcr.io', undefined, { DOCKER_CONTENT_TRUST_SERVER: '::' }), {
    code: 'USAGE',
    hint: /DOCKER_CONTENT_TRUST_SERVER/,
  });
  assert.equal(trustServerFor('ghcr.io', 'https://notary.example/'), 'https://notary.example');
});

test('the CLI says so and exits 2', async () => {
  const r = await trustpin(['verify', '--dct', '--trust-server', 'not a url', '127.0.0.1:1/x:1']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /error\[USAGE\]: trust server "not a url" is not a URL/);
  assert.match(r.stderr, /fix --trust-server/);
});
