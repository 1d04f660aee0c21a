import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenges } from '../../../src/registry/challenge.js';

test('bearer challenge from the testbed registry', () => {
  const v =
    'Bearer realm="http://127.0.0.1:5003/token",service="testbed-registry",scope="repository:demo/app:pull"';
  assert.deepEqual(parseChallenges(v), [
    {
      scheme: 'bearer',
      params: {
        realm: 'http://127.0.0.1:5003/token',
        service: 'testbed-registry',
        scope: 'repository:demo/app:pull',
      },
    },
  ]);
});

test('Docker Hub challenge with a multi-action scope keeps the comma inside the quotes', () => {
  const v =
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"';
  assert.equal(parseChallenges(v)[0]?.params.scope, 'repository:samalba/my-app:pull,push');
});

test('basic challenge; scheme and keys are lower-cased, values are not', () => {
  assert.deepEqual(parseChallenges('BASIC Realm="Registry Realm"'), [
    { scheme: 'basic', params: { realm: 'Registry Realm' } },
  ]);
});

test('scheme without params and token (unquoted) values', () => {
  assert.deepEqual(parseChallenges(['Basic', 'Bearer realm=https,service=reg']), [
    { scheme: 'basic', params: {} },
    { scheme: 'bearer', params: { realm: 'https', service: 'reg' } },
  ]);
});

test('several challenges folded into one header value', () => {
  assert.deepEqual(parseChallenges('Bearer realm="x",service="y", Basic realm="z"'), [
    { scheme: 'bearer', params: { realm: 'x', service: 'y' } },
    { scheme: 'basic', params: { realm: 'z' } },
  ]);
});

test('array of header values yields one challenge per value in order', () => {
  const got = parseChallenges(['Basic realm="a"', 'Bearer realm="b",service="s"']);
  assert.deepEqual(
    got.map((c) => [c.scheme, c.params.realm]),
    [
      ['basic', 'a'],
      ['bearer', 'b'],
    ],
  );
});

test('backslash escapes inside quoted strings', () => {
  const [c] = parseChallenges('Bearer realm="a \\"quoted\\" realm",error="back\\\\slash"');
  assert.equal(c?.params.realm, 'a "quoted" realm');
  assert.equal(c?.params.error, 'back\\slash');
});

test('RFC 6750 error params and whitespace around separators', () => {
  const [c] = parseChallenges(
    'Bearer  realm="r" ,  error="insufficient_scope" , scope="repository:a/b:pull"',
  );
  assert.deepEqual(c?.params, { realm: 'r', error: 'insufficient_scope', scope: 'repository:a/b:pull' });
});

test('malformed params are skipped without losing the challenge', () => {
  assert.deepEqual(parseChallenges('Bearer realm="unterminated'), [{ scheme: 'bearer', params: {} }]);
  assert.deepEqual(parseChallenges('Bearer realm=,service="s"'), [
    { scheme: 'bearer', params: { service: 's' } },
  ]);
});

test('no header, empty header and junk give no challenges', () => {
  assert.deepEqual(parseChallenges(undefined), []);
  assert.deepEqual(parseChallenges(''), []);
  assert.deepEqual(parseChallenges([]), []);
  assert.deepEqual(parseChallenges('  ,  '), []);
  assert.deepEqual(parseChallenges('"quoted"'), []);
});
