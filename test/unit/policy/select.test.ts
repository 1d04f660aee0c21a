// Rule selection: scopes are globs on the normalised reference, the most specific wins, a mirror is judged as its
// origin (longest mirror prefix).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mirrorOf, scopeMatches, selectRule } from '../../../src/policy/select.js';
import type { Policy, Rule } from '../../../src/policy/types.js';
import { parseDockerReference } from '../../../src/reference/index.js';

const at = { file: 'p.yaml', line: 1, column: 1 };
const rule = (name: string, scope: string, index: number): Rule => ({
  name,
  scope,
  mode: 'enforce',
  require: [],
  index,
  at,
});
const policy = (rules: [string, string][], mirrors: Policy['mirrors'] = []): Policy => ({
  source: 'p.yaml',
  digest: 'sha256:0',
  defaults: { mode: 'enforce', noMatch: 'deny', digest: 'resolve', platform: 'index', verifyAt: 'now' },
  trustRoots: new Map(),
  mirrors,
  rules: rules.map(([n, s], i) => rule(n, s, i)),
});
const ref = parseDockerReference;

describe('scope globs', () => {
  test('* is one path segment, ** any number (and the prefix itself)', () => {
    assert.ok(scopeMatches('docker.io/library/*', ref('alpine')));
    assert.ok(!scopeMatches('docker.io/library/*', ref('docker.io/library/a/b')));
    assert.ok(scopeMatches('ghcr.io/acme/**', ref('ghcr.io/acme/team/app:1')));
    assert.ok(scopeMatches('ghcr.io/acme/**', ref('ghcr.io/acme')));
    assert.ok(!scopeMatches('ghcr.io/acme/**', ref('ghcr.io/acmecorp/app')));
    assert.ok(scopeMatches('**', ref('quay.io/x/y')));
    assert.ok(scopeMatches('ghcr.io/acme/app-*', ref('ghcr.io/acme/app-web')));
  });
  test('a port is not a tag; a tag or digest part must match', () => {
    assert.ok(scopeMatches('127.0.0.1:5000/demo/*', ref('127.0.0.1:5000/demo/app:1.0')));
    assert.ok(scopeMatches('docker.io/library/alpine:3.*', ref('alpine:3.20')));
    assert.ok(!scopeMatches('docker.io/library/alpine:3.*', ref('alpine:edge')));
    assert.ok(!scopeMatches('docker.io/library/alpine:3.*', ref(`alpine@sha256:${'a'.repeat(64)}`)));
  });
  test('regular-expression characters in a scope are literal', () => {
    assert.ok(!scopeMatches('docker.io/library/a.b', ref('docker.io/library/axb')));
  });
});

describe('the most specific rule wins, exactly one', () => {
  const p = policy([
    ['catch-all', '**'],
    ['official', 'docker.io/library/*'],
    ['alpine', 'docker.io/library/alpine'],
    ['alpine-3', 'docker.io/library/alpine:3.*'],
    ['acme', 'ghcr.io/acme/**'],
    ['acme-app', 'ghcr.io/acme/app'],
  ]);
  const pick = (r: string) => selectRule(p, ref(r)).rule?.name;
  test('order in the file does not matter, specificity does', () => {
    assert.equal(pick('nginx'), 'official');
    assert.equal(pick('alpine:edge'), 'alpine');
    assert.equal(pick('alpine:3.20'), 'alpine-3');
    assert.equal(pick('ghcr.io/acme/app:1'), 'acme-app');
    assert.equal(pick('ghcr.io/acme/other:1'), 'acme');
    assert.equal(pick('quay.io/x/y'), 'catch-all');
    const reversed = policy([...p.rules].reverse().map((r) => [r.name, r.scope]));
    assert.equal(selectRule(reversed, ref('alpine:3.20')).rule?.name, 'alpine-3');
    assert.equal(selectRule(reversed, ref('nginx')).rule?.name, 'official');
  });
  test('no rule: undefined; ties are reported and the first wins', () => {
    assert.equal(selectRule(policy([['a', 'ghcr.io/*']]), ref('nginx')).rule, undefined);
    const t = selectRule(
      policy([
        ['first', 'docker.io/*/nginx'],
        ['second', 'docker.io/library/*'],
        ['third', 'docker.io/*/nginx'],
      ]),
      ref('nginx'),
    );
    assert.equal(t.rule?.name, 'second');
    const tie = selectRule(
      policy([
        ['x', 'docker.io/*/nginx'],
        ['y', 'docker.io/*/nginx'],
      ]),
      ref('nginx'),
    );
    assert.equal(tie.rule?.name, 'x');
    assert.deepEqual(
      tie.tied.map((r) => r.name),
      ['y'],
    );
  });
});

describe('mirrors are judged as their origin', () => {
  const p = policy(
    [],
    [
      {
        origin: 'docker.io/library',
        mirrors: ['public.ecr.aws/docker/library', 'registry.local/hub'],
        prove: 'config',
        signaturesFrom: ['origin'],
        at,
      },
      {
        origin: 'docker.io/library/special',
        mirrors: ['registry.local/hub/special-copy'],
        prove: 'index',
        signaturesFrom: ['mirror'],
        at,
      },
    ],
  );
  test('prefix on a path boundary, tag and digest kept', () => {
    const m = mirrorOf(p, ref('public.ecr.aws/docker/library/alpine:3.20'));
    assert.equal(m?.prefix, 'public.ecr.aws/docker/library');
    assert.deepEqual(
      { r: m?.origin.registry, p: m?.origin.repository, t: m?.origin.tag },
      { r: 'docker.io', p: 'library/alpine', t: '3.20' },
    );
    assert.equal(mirrorOf(p, ref('public.ecr.aws/docker/libraryx/alpine')), undefined);
    assert.equal(mirrorOf(p, ref('ghcr.io/acme/app')), undefined);
  });
  test('the longest mirror prefix wins', () => {
    const m = mirrorOf(p, ref('registry.local/hub/special-copy:1'));
    assert.equal(m?.spec.origin, 'docker.io/library/special');
    assert.equal(m?.origin.repository, 'library/special');
  });
});
