// `policy check`'s linter: what a policy that loads may still get wrong, each at the rule or trust root it is about.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPolicy } from '../../../src/policy/lint.js';

function policyFile(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tp-lint-'));
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    type: 'spki',
    format: 'pem',
  });
  writeFileSync(join(dir, 'k.pub'), pem);
  const file = join(dir, 'p.yaml');
  writeFileSync(
    file,
    `apiVersion: trustpin.dev/v1alpha1\nkind: TrustPolicy\ntrustRoots:\n  used: { publicKey: ./k.pub }\n  spare: { publicKey: ./k.pub }\nrules:\n${body}`,
  );
  return file;
}

const cosignRule = (name: string, scope: string) =>
  `  - name: ${name}\n    scope: "${scope}"\n    require: [ { cosign: { trustRoot: used, tlog: optional } } ]\n`;

test('a trust root no requirement uses is a warning at its name', () => {
  const r = checkPolicy(policyFile(cosignRule('a', 'docker.io/library/*')));
  assert.ok(r.policy);
  assert.deepEqual(
    r.findings.map((f) => [f.severity, f.code, f.at.line, f.at.column]),
    [['warning', 'unused-trust-root', 5, 3]],
  );
  assert.match(r.findings[0]!.message, /spare/);
});

test('two rules with the same scope: the second can never apply (error at the second)', () => {
  const r = checkPolicy(
    policyFile(
      `${cosignRule('a', 'ghcr.io/acme/**')}${cosignRule('b', 'ghcr.io/acme/**')}  - name: c\n    scope: "**"\n    require: [ { cosign: { trustRoot: spare, tlog: optional } } ]\n`,
    ),
  );
  assert.equal(r.policy, undefined);
  assert.deepEqual(
    r.findings.map((f) => [f.severity, f.code, f.at.line]),
    [['error', 'duplicate-scope', 10]],
  );
  assert.match(r.findings[0]!.message, /rule b .* rule a/);
});

test('a rule after a ** catch-all is not shadowed (the most specific scope wins)', () => {
  const r = checkPolicy(
    policyFile(
      `  - name: all\n    scope: "**"\n    require: [ { cosign: { trustRoot: spare, tlog: optional } } ]\n${cosignRule('later', 'docker.io/library/alpine')}`,
    ),
  );
  assert.ok(r.policy);
  assert.deepEqual(r.findings, []);
});

test('a scope without a registry host never matches a normalised reference: warning', () => {
  const r = checkPolicy(
    policyFile(
      `${cosignRule('short', 'library/alpine')}${cosignRule('bare', 'alpine')}${cosignRule('host', 'localhost/x')}  - name: ok\n    scope: "registry.local:5000/**"\n    require: [ { cosign: { trustRoot: spare, tlog: optional } } ]\n`,
    ),
  );
  assert.ok(r.policy);
  assert.deepEqual(
    r.findings.map((f) => [f.severity, f.code, f.at.line]),
    [
      ['warning', 'unmatchable-scope', 7],
      ['warning', 'unmatchable-scope', 10],
    ],
  );
  assert.match(r.findings[0]!.message, /normalised references like docker\.io\/library\/x/);
});

test('load errors come through as error findings, and no policy', () => {
  const r = checkPolicy(policyFile(`  - name: r\n    scope: "**"\n    requir: []\n`));
  assert.equal(r.policy, undefined);
  assert.deepEqual(
    r.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.at.line, f.at.column]),
    [
      ['unknown-field', 9, 5],
      ['missing-field', 7, 5],
    ],
  );
});
