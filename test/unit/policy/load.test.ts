// The policy loader: the wave-2 C.4 example loads with its files read; every error names file:line:column of the
// offending node, and every problem is listed, not only the first.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import {
  loadPolicy,
  MAX_POLICY_BYTES,
  MAX_POLICY_RULES,
  type PolicyFinding,
  parsePolicy,
} from '../../../src/policy/load.js';
import { policyJsonSchema } from '../../../src/policy/schema.js';
import { keyId, readKeyFile } from '../../../src/trust/dct/keys.js';

const ROOT_VECTOR = '/work/shared/vectors/root-signing/targets/trusted_root.json';
const pem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();

/** A temp dir with the files the C.4 example names. */
function fixture(): { dir: string; rootPub: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tp-policy-'));
  mkdirSync(join(dir, 'trust'));
  mkdirSync(join(dir, 'dct-cache'));
  if (existsSync(ROOT_VECTOR)) copyFileSync(ROOT_VECTOR, join(dir, 'trust/trusted_root.json'));
  else
    writeFileSync(
      join(dir, 'trust/trusted_root.json'),
      JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [] }),
    );
  writeFileSync(join(dir, 'trust/cosign.pub'), pem());
  const rootPub = pem();
  writeFileSync(join(dir, 'trust/root.pub'), rootPub);
  // any certificate will do for x509 and notation roots: take one from the trusted root when present
  const cert = certPem();
  for (const f of ['root.pem', 'int.pem', 'ca.pem', 'tsa.pem']) writeFileSync(join(dir, 'trust', f), cert);
  return { dir, rootPub };
}

function certPem(): string {
  const doc = JSON.parse(readFileSync(ROOT_VECTOR, 'utf8')) as {
    certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[];
  };
  const b64 = doc.certificateAuthorities[0]!.certChain.certificates[0]!.rawBytes;
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

const HEX = '40be21f4'.padEnd(64, '0');
export const C4 = `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults:
  mode: enforce              # enforce | warn | audit
  noMatch: deny              # deny | warn | allow
  digest: require
  platform: index
  verifyAt: now
trustRoots:
  sigstore-public: { sigstore: { trustedRoot: ./trust/trusted_root.json } }
  team-key:        { publicKey: ./trust/cosign.pub }
  corp-pki:        { x509: { roots: [./trust/root.pem], intermediates: [./trust/int.pem] } }
  notation-prod:   { notation: { ca: [./trust/ca.pem], signingAuthority: [], tsa: [./trust/tsa.pem] } }
  hub-dct:         { dct: { rootKeyIds: ["${HEX}"], rootKeys: [./trust/root.pub], metadataDir: ./dct-cache, server: https://notary.example } }
mirrors:
  - origin: docker.io/library
    mirrors: [public.ecr.aws/docker/library, registry.local/dockerhub/library]
    prove: diffids
    signaturesFrom: [origin, mirror]
rules:
  - name: official-images
    scope: "docker.io/library/*"
    require:
      - anyOf:
          - dct:    { trustRoot: hub-dct, roles: [targets/releases], threshold: 1 }
          - cosign: { trustRoot: sigstore-public, tlog: required,
                      identity: { issuer: "https://token.actions.githubusercontent.com",
                                  subjectRegExp: "^https://github\\\\.com/docker-library/.+$" } }
  - name: acme
    scope: "ghcr.io/acme/**"
    mode: audit
    require:
      - cosign:   { trustRoot: team-key, tlog: optional, signedIdentity: matchRepository,
                    attestations: [ { predicateType: "https://slsa.dev/provenance/v1" } ] }
      - notation: { trustRoot: notation-prod, level: strict,
                    identities: ["x509.subject: C=US, ST=WA, O=Acme, CN=release"] }
  - name: everything-else-pinned
    scope: "**"
    require: [ { digestPinned: true } ]
`;

test('the C.4 example loads: defaults, trust roots read from files, mirrors, rules with positions and paths', () => {
  const { dir, rootPub } = fixture();
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, C4);
  const p = loadPolicy(file);
  assert.deepEqual(p.defaults, {
    mode: 'enforce',
    noMatch: 'deny',
    digest: 'require',
    platform: 'index',
    verifyAt: 'now',
  });
  assert.match(p.digest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(
    [...p.trustRoots.keys()],
    ['sigstore-public', 'team-key', 'corp-pki', 'notation-prod', 'hub-dct'],
  );
  const dct = p.trustRoots.get('hub-dct')!;
  assert.equal(dct.kind, 'dct');
  if (dct.kind === 'dct') {
    assert.deepEqual(dct.rootKeyIds, [HEX, keyId(readKeyFile(rootPub))]);
    assert.equal(dct.archive, join(dir, 'dct-cache'));
    assert.equal(dct.allowFirstUse, false);
    assert.equal(dct.server, 'https://notary.example');
  }
  const key = p.trustRoots.get('team-key')!;
  assert.ok(key.kind === 'publicKey' && key.keys[0]!.path === join(dir, 'trust/cosign.pub'));
  assert.equal(key.at.line, 11);
  const nota = p.trustRoots.get('notation-prod')!;
  assert.ok(
    nota.kind === 'notation' &&
      nota.ca.length === 1 &&
      nota.tsa.length === 1 &&
      nota.signingAuthority.length === 0,
  );
  assert.deepEqual(
    p.mirrors.map((m) => [m.origin, m.prove, m.signaturesFrom, m.at.line]),
    [['docker.io/library', 'diff_ids', ['origin', 'mirror'], 16]],
  );
  assert.deepEqual(
    p.rules.map((r) => [r.name, r.mode, r.index, r.at.line]),
    [
      ['official-images', 'enforce', 0, 21],
      ['acme', 'audit', 1, 29],
      ['everything-else-pinned', 'enforce', 2, 37],
    ],
  );
  const any = p.rules[0]!.require[0]!;
  assert.equal(any.kind, 'anyOf');
  if (any.kind !== 'anyOf') return;
  assert.equal(any.path, 'rules[0].require[0]');
  const [d, c] = any.of;
  assert.deepEqual(
    { ...d, at: d!.at.line },
    {
      kind: 'dct',
      trustRoot: 'hub-dct',
      signers: ['releases'],
      path: 'rules[0].require[0].anyOf[0]',
      at: 25,
    },
  );
  assert.equal(c!.path, 'rules[0].require[0].anyOf[1]');
  assert.equal(c!.at.line, 26);
  assert.ok(c!.kind === 'cosign');
  if (c?.kind === 'cosign') {
    assert.deepEqual(c.identities, [
      {
        issuer: 'https://token.actions.githubusercontent.com',
        subjectRegExp: '^https://github\\.com/docker-library/.+$',
      },
    ]);
    assert.equal(c.tlog, 'required');
  }
  const acme = p.rules[1]!.require;
  assert.ok(acme[0]!.kind === 'cosign' && acme[0]!.tlog === 'optional');
  assert.deepEqual(acme[0]!.kind === 'cosign' && acme[0]!.attestations, [
    { predicateType: 'https://slsa.dev/provenance/v1' },
  ]);
  assert.ok(acme[1]!.kind === 'notation' && acme[1]!.level === 'strict');
  assert.deepEqual(
    p.rules[2]!.require.map((q) => q.kind),
    ['digestPinned'],
  );
});

/** Parse `text` in the fixture dir and return the error findings as `line:col code`. */
function errors(text: string): { list: string[]; findings: PolicyFinding[] } {
  const { dir } = fixture();
  const r = parsePolicy(text, 'p.yaml', { baseDir: dir });
  const findings = r.findings.filter((f) => f.severity === 'error');
  if (findings.length) assert.equal(r.policy, undefined);
  return { list: findings.map((f) => `${f.at.line}:${f.at.column} ${f.code}`), findings };
}

/** `line:col` of the first `needle` in `text` (after `from`), to assert positions without counting by hand. */
function loc(text: string, needle: string, from = ''): string {
  const i = text.indexOf(needle, from ? text.indexOf(from) : 0);
  assert.ok(i >= 0, needle);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

const HEAD = 'apiVersion: trustpin.dev/v1alpha1\nkind: TrustPolicy\n';
const ROOTS = `${HEAD}trustRoots:
  sig: { sigstore: { trustedRoot: ./trust/trusted_root.json } }
  key: { publicKey: ./trust/cosign.pub }
  dc: { dct: { rootKeys: ./trust/root.pub } }
rules:
`;

test('an unknown field is named at its key, with the allowed ones', () => {
  const { list, findings } = errors(
    `${HEAD}rules:\n  - name: r\n    scope: "**"\n    requir: [ { digestPinned: true } ]\n`,
  );
  assert.deepEqual(list, ['6:5 unknown-field', '4:5 missing-field']);
  assert.match(findings[0]!.message, /"requir" in rules\[0\]/);
  assert.match(findings[0]!.expected!, /require/);
});

test('every problem is collected, and loadPolicy throws them all as file:line:col', () => {
  const { dir } = fixture();
  const file = join(dir, 'bad.yaml');
  const text = `apiVersion: trustpin.dev/v1\nkind: TrustPolicy\ndefaults: { mode: block, verifyAt: yesterday }\nbogus: 1\n`;
  writeFileSync(file, text);
  assert.throws(
    () => loadPolicy(file),
    (e: unknown) => {
      assert.ok(isTrustpinError(e, 'TRUST_POLICY_INVALID'));
      assert.match(e.message, new RegExp(`^${file.replace(/[.\\/]/g, '\\$&')}:4:1: unknown field "bogus"`));
      const lines = e.found!.split('\n');
      assert.deepEqual(
        lines.map((l) => l.slice(file.length + 1).split(': ')[0]),
        ['bogus', 'trustpin.dev/v1', 'block', 'yesterday'].map((n) => loc(text, n)),
      );
      return true;
    },
  );
});

test('a missing file, an unparsable key and a non-root JSON name the path node', () => {
  const { dir } = fixture();
  writeFileSync(
    join(dir, 'trust/garbage.pub'),
    '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
  );
  writeFileSync(join(dir, 'trust/other.json'), '{"hello": 1}');
  const text = `${HEAD}trustRoots:\n  a: { publicKey: [./trust/cosign.pub, ./nope.pub] }\n  b: { publicKey: ./trust/garbage.pub }\n  c: { sigstore: { trustedRoot: ./trust/other.json } }\n  d: { x509: { roots: [./trust/cosign.pub] } }\n`;
  const r = parsePolicy(text, join(dir, 'p.yaml'));
  assert.deepEqual(
    r.findings.map((f) => `${f.at.line}:${f.at.column} ${f.code}`),
    [
      `${loc(text, './nope.pub')} missing-file`,
      `${loc(text, './trust/garbage.pub')} bad-key`,
      `${loc(text, './trust/other.json')} bad-key`,
      `${loc(text, './trust/cosign.pub', '  d:')} bad-key`,
    ],
  );
  assert.match(r.findings[0]!.message, new RegExp(join(dir, 'nope.pub').replace(/[.\\/]/g, '\\$&')));
});

test('a regular expression that does not compile is reported where it is written', () => {
  const text = `${ROOTS}  - name: r\n    scope: "**"\n    require:\n      - cosign: { trustRoot: sig, identity: { issuer: x, subjectRegExp: "([a-z" } }\n`;
  const { list, findings } = errors(text);
  assert.deepEqual(list, [`${loc(text, '"([a-z"')} bad-regexp`]);
  assert.match(findings[0]!.message, /subjectRegExp does not compile/);
});

test('duplicate rule names, unknown trust roots and trust roots of the wrong kind', () => {
  const { list } = errors(
    `${ROOTS}  - name: r\n    scope: "a.io/**"\n    require: [ { dct: { trustRoot: key } } ]\n  - name: r\n    scope: "b.io/**"\n    require: [ { notation: { trustRoot: nobody, identities: ["*"] } } ]\n`,
  );
  assert.deepEqual(list, ['10:36 wrong-trust-root-kind', '11:11 duplicate-name', '13:41 unknown-trust-root']);
});

test('cosign keyless without a sigstore root, and a required tlog with keys only, are errors', () => {
  const a = `${ROOTS}  - name: r\n    scope: "**"\n    require:\n      - cosign: { trustRoot: key, tlog: optional, identity: { issuer: x, subject: y } }\n`;
  assert.deepEqual(errors(a).list, [`${loc(a, '{ issuer: x')} keyless-without-sigstore`]);
  const b = `${ROOTS}  - name: r\n    scope: "**"\n    require:\n      - cosign: { trustRoot: key }\n`;
  assert.deepEqual(errors(b).list, [`${loc(b, 'key }')} tlog-without-sigstore`]);
  assert.deepEqual(
    errors(`${ROOTS}  - name: r\n    scope: "**"\n    require:\n      - cosign: { trustRoot: [key, sig] }\n`)
      .list,
    [],
  );
});

test('a requirement needs exactly one kind; anyOf must not be empty; dct threshold only 1; nesting is capped', () => {
  const text = `${ROOTS}  - name: r\n    scope: "**"\n    require:\n      - { digestPinned: true, anyOf: [] }\n      - anyOf: []\n      - dct: { trustRoot: dc, threshold: 2 }\n`;
  assert.deepEqual(errors(text).list, [
    `${loc(text, '{ digestPinned: true, anyOf')} ambiguous-requirement`,
    `${loc(text, '[]', '- anyOf')} wrong-type`,
    `${loc(text, '2 }')} bad-value`,
  ]);
  let deep = '{ digestPinned: true }';
  for (let i = 0; i < 17; i++) deep = `{ allOf: [ ${deep} ] }`;
  assert.deepEqual(
    errors(`${ROOTS}  - name: r\n    scope: "**"\n    require: [ ${deep} ]\n`).list.map(
      (s) => s.split(' ')[1],
    ),
    ['too-deep'],
  );
});

test('JSON loads through the same parser; oversized files are refused', () => {
  const json = JSON.stringify({
    apiVersion: 'trustpin.dev/v1alpha1',
    kind: 'TrustPolicy',
    rules: [{ name: 'a', scope: '**', require: [] }],
  });
  const p = loadPolicy(json, { inline: true });
  assert.equal(p.source, '<inline>');
  assert.deepEqual(p.rules[0]!.require, []);
  const r = parsePolicy(' '.repeat(MAX_POLICY_BYTES + 1), 'big.yaml');
  assert.equal(r.findings[0]!.code, 'too-large');
});

test('the committed JSON Schema is policyJsonSchema() and rejects an unknown field', async () => {
  const committed = JSON.parse(
    readFileSync(join(import.meta.dirname, '../../../schema/trustpolicy.v1alpha1.json'), 'utf8'),
  );
  assert.deepEqual(committed, policyJsonSchema());
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const validate = new Ajv2020({ strict: false }).compile(committed);
  const doc = {
    apiVersion: 'trustpin.dev/v1alpha1',
    kind: 'TrustPolicy',
    rules: [{ name: 'a', scope: '**', require: [{ digestPinned: true }] }],
  };
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  assert.ok(!validate({ ...doc, bogus: 1 }));
});

test('more than MAX_POLICY_RULES rules are refused at the first one over', () => {
  const rules = Array.from(
    { length: MAX_POLICY_RULES + 1 },
    (_, i) => `  - { name: r${i}, scope: "a.io/${i}", require: [] }`,
  );
  const { list } = errors(`${HEAD}rules:\n${rules.join('\n')}\n`);
  assert.deepEqual(list, [`${MAX_POLICY_RULES + 4}:5 too-many-rules`]);
});

test('inline key data is parsed; a DCT root with no pinned key and no allowFirstUse is an error', () => {
  const data = JSON.stringify(pem());
  const ok = parsePolicy(
    `${HEAD}trustRoots:\n  k: { publicKey: { data: ${data} } }\n  d: { dct: { allowFirstUse: true } }\n`,
    '<inline>',
  );
  assert.deepEqual(ok.findings, []);
  const k = ok.policy!.trustRoots.get('k')!;
  assert.ok(k.kind === 'publicKey' && k.keys[0]!.bytes.toString() === JSON.parse(data));
  const bad = `${HEAD}trustRoots:\n  k: { publicKey: { data: "-----BEGIN PUBLIC KEY-----" } }\n  d: { dct: { server: https://notary.example } }\n`;
  assert.deepEqual(errors(bad).list, [
    `${loc(bad, '"-----BEGIN')} bad-key`,
    `${loc(bad, 'dct:')} missing-field`,
  ]);
});

test('dct roles: targets/NAME becomes signer NAME; "targets" alone lifts the signer restriction', () => {
  const req = (roles: string) => {
    const r = parsePolicy(
      `${ROOTS}  - name: r\n    scope: "**"\n    require: [ { dct: { trustRoot: dc, roles: ${roles} } } ]\n`,
      'p.yaml',
      { baseDir: fixture().dir },
    );
    assert.deepEqual(r.findings, []);
    const q = r.policy!.rules[0]!.require[0]!;
    return q.kind === 'dct' ? q.signers : undefined;
  };
  assert.deepEqual(req('[targets/releases, targets/qa]'), ['releases', 'qa']);
  assert.deepEqual(req('[targets, targets/releases]'), []);
  assert.deepEqual(
    errors(
      `${ROOTS}  - name: r\n    scope: "**"\n    require: [ { dct: { trustRoot: dc, roles: [releases] } } ]\n`,
    ).list.length,
    1,
  );
});
