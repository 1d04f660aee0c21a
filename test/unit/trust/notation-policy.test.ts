// Notation OCI trust policies as notation-go validates them (verifier/trustpolicy): every e2e policy of notation
// gives the e2e suite's outcome; the level table, overrides, selection, DN parsing and identity matching.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import {
  identityMatches,
  LEVEL_ACTIONS,
  loadTrustPolicy,
  MAX_TRUST_POLICY_BYTES,
  MAX_TRUST_POLICY_STATEMENTS,
  parseDistinguishedName,
  parseTrustPolicy,
  selectStatement,
  subjectAttributesOf,
} from '../../../src/trust/notation/policy.js';
import { skipNoVectors, vectorPath } from '../../vectors.js';

const throwsCode = (fn: () => unknown, code: string, re?: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(isTrustpinError(e), `not a TrustpinError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });

const stmt = (over: Record<string, unknown> = {}) => ({
  name: 'p',
  registryScopes: ['registry.example/app'],
  signatureVerification: { level: 'strict' },
  trustStores: ['ca:acme'],
  trustedIdentities: ['*'],
  ...over,
});
const doc = (...statements: unknown[]) => ({ version: '1.0', trustPolicies: statements });
const parse = (d: unknown) => parseTrustPolicy(d as object, 'test.json');
const invalid = (d: unknown, re: RegExp) => throwsCode(() => parse(d), 'TRUST_POLICY_INVALID', re);

// notation test/e2e/suite/trustpolicy/*.go: what `notation verify` says for each policy (a valid policy that then
// fails verification for another reason — invalid_trust_store, overlapped_trust_store, invalid_registry_scope,
// invalid_trusted_identity — is a valid document here)
const E2E: Record<string, RegExp | 'valid'> = {
  'any_registry_scope_trust_policy.json': 'valid',
  'audit_trustpolicy.json': 'valid',
  'blob_trust_policy.json': /"wabbit-networks-policy" has zero registry scopes/,
  'empty_registry_scope_trustpolicy.json': /statement "e2e" has zero registry scopes/,
  'empty_trusted_identity_trustpolicy.json': /statement "e2e" has an empty trusted identity/,
  'generate_test_trustpolicy.json': 'valid',
  'invalid_format_trustpolicy.json': /malformed/,
  'invalid_registry_scope_trustpolicy.json': 'valid',
  'invalid_trust_store_trustpolicy.json': 'valid',
  'invalid_trusted_identity_trustpolicy.json': 'valid',
  'malformed_registry_scope_trustpolicy.json':
    /registry scope "localhost:5000\\\\test-repo" that is not valid/,
  'malformed_trust_store_trustpolicy.json': /unsupported trust store name "" in trust store value "ca:"/,
  'malformed_trusted_identity_trustpolicy.json':
    /trusted identity "x509.subject CN=e2e,O=Notary,L=Seattle,ST=WA,C=US" missing separator/,
  'missing_country_trusted_identity_trustpolicy.json': /no mandatory RDN attribute for "C"/,
  'missing_organization_trusted_identity_trustpolicy.json': /no mandatory RDN attribute for "O"/,
  'missing_state_trusted_identity_trustpolicy.json': /no mandatory RDN attribute for "ST"/,
  'multi_statements_with_multi_wildcard_registry_scope_trustpolicy.json':
    /registry scope "\*" in multiple statements/,
  'multi_statements_with_the_same_name_trustpolicy.json':
    /statement "e2e" is not the only statement of that name/,
  'multi_statements_with_the_same_registry_scope_trustpolicy.json':
    /"localhost:5000\/test-repo8" in multiple statements/,
  'multi_statements_with_wildcard_registry_scope_trustpolicy.json': 'valid',
  'multiple_registry_scope_trustpolicy.json': 'valid',
  'multiple_trust_store_trustpolicy.json': 'valid',
  'multiple_trusted_identity_trustpolicy.json': 'valid',
  'overlapped_registry_scope_trustpolicy.json': /"localhost:5000\/test-repo6" in multiple statements/,
  'overlapped_trust_store_trustpolicy.json': 'valid',
  'overlapped_trusted_identity_trustpolicy.json': /has overlapping x509 trustedIdentities/,
  'override_audit_trustpolicy.json': 'valid',
  'override_integrity_for_permissive_trustpolicy.json': /"integrity" verification can not be overridden/,
  'override_permissive_trustpolicy.json': 'valid',
  'override_strict_trustpolicy.json': 'valid',
  'permissive_trustpolicy.json': 'valid',
  'quickstart_trustpolicy.json': 'valid',
  'registry_scope_trustpolicy.json': 'valid',
  'skip_trustpolicy.json': 'valid',
  'timestamp_after_cert_expiry_trustpolicy.json': 'valid',
  'timestamp_trustpolicy.json': 'valid',
  'trustpolicy.json': 'valid',
  'unset_trust_store_trustpolicy.json': /"e2e" is either missing trust stores or trusted identities/,
  'unset_trusted_identity_trustpolicy.json': /"e2e" is either missing trust stores or trusted identities/,
  'valid_trusted_identity_trustpolicy.json': 'valid',
  'wildcard_plus_other_registry_scope_trustpolicy.json':
    /"e2e" uses wildcard registry scope '\*', a wildcard scope cannot be used/,
  'wildcard_plus_other_trusted_identity_trustpolicy.json': /uses a wildcard trusted identity '\*'/,
  'wildcard_trust_store_trustpolicy.json': /malformed trust store value "\*"/,
};

describe('notation trust policy: notation e2e policies', { skip: skipNoVectors }, () => {
  const dir = vectorPath('notation/test/e2e/testdata/config/trustpolicies');
  for (const [file, want] of Object.entries(E2E))
    test(file, () => {
      if (want === 'valid') {
        const d = loadTrustPolicy(join(dir, file));
        assert.equal(d.version, '1.0');
        assert.ok(d.statements.length >= 1);
      } else throwsCode(() => loadTrustPolicy(join(dir, file)), 'TRUST_POLICY_INVALID', want);
    });
  test('the e2e override files give the overridden actions', () => {
    const s = (f: string) => loadTrustPolicy(join(dir, f)).statements[0]!;
    assert.deepEqual(s('override_strict_trustpolicy.json').actions, {
      integrity: 'enforce',
      authenticity: 'log',
      authenticTimestamp: 'log',
      expiry: 'log',
      revocation: 'log',
    });
    assert.equal(s('override_permissive_trustpolicy.json').actions.expiry, 'enforce');
    assert.equal(s('override_permissive_trustpolicy.json').actions.authenticity, 'log');
    assert.equal(s('override_audit_trustpolicy.json').actions.authenticity, 'enforce');
    assert.equal(s('timestamp_after_cert_expiry_trustpolicy.json').verifyTimestamp, 'afterCertExpiry');
    assert.equal(s('timestamp_trustpolicy.json').verifyTimestamp, 'always');
    assert.deepEqual(s('multiple_trust_store_trustpolicy.json').trustStores.length >= 2, true);
  });
  test('invalid_trusted_identity parses to a DN that the e2e leaf (CN=e2e,O=Notary,L=Seattle,ST=WA,C=US) does not match', () => {
    const s = loadTrustPolicy(join(dir, 'invalid_trusted_identity_trustpolicy.json')).statements[0]!;
    const leaf = [
      { type: 'C', value: 'US' },
      { type: 'ST', value: 'WA' },
      { type: 'L', value: 'Seattle' },
      { type: 'O', value: 'Notary' },
      { type: 'CN', value: 'e2e' },
    ];
    assert.equal(identityMatches(s.trustedIdentities, leaf), undefined);
    const ok = loadTrustPolicy(join(dir, 'valid_trusted_identity_trustpolicy.json')).statements[0]!;
    assert.notEqual(identityMatches(ok.trustedIdentities, leaf), undefined);
  });
});

describe('notation trust policy: levels and overrides (notation-go GetVerificationLevel)', () => {
  test('the level table', () => {
    const a = (level: string) =>
      parse(
        doc(
          stmt({
            signatureVerification: { level },
            ...(level === 'skip' ? { trustStores: [], trustedIdentities: [] } : {}),
          }),
        ),
      ).statements[0]!.actions;
    assert.deepEqual(a('strict'), {
      integrity: 'enforce',
      authenticity: 'enforce',
      authenticTimestamp: 'enforce',
      expiry: 'enforce',
      revocation: 'enforce',
    });
    assert.deepEqual(a('permissive'), {
      integrity: 'enforce',
      authenticity: 'enforce',
      authenticTimestamp: 'log',
      expiry: 'log',
      revocation: 'log',
    });
    assert.deepEqual(a('audit'), {
      integrity: 'enforce',
      authenticity: 'log',
      authenticTimestamp: 'log',
      expiry: 'log',
      revocation: 'log',
    });
    assert.deepEqual(a('skip'), {
      integrity: 'skip',
      authenticity: 'skip',
      authenticTimestamp: 'skip',
      expiry: 'skip',
      revocation: 'skip',
    });
    assert.deepEqual(a('strict'), LEVEL_ACTIONS.strict);
  });
  const ov = (level: string, override: Record<string, unknown>) =>
    doc(stmt({ signatureVerification: { level, override } }));
  test('overrides apply, and revocation alone may be skipped', () => {
    const s = parse(ov('audit', { authenticity: 'enforce', revocation: 'skip', expiry: 'enforce' }))
      .statements[0]!;
    assert.deepEqual(s.actions, {
      integrity: 'enforce',
      authenticity: 'enforce',
      authenticTimestamp: 'log',
      expiry: 'enforce',
      revocation: 'skip',
    });
    assert.equal(parse(ov('strict', {})).statements[0]!.actions.expiry, 'enforce');
  });
  test('notation-go TestCustomVerificationLevel table', () => {
    const E = 'enforce';
    const L = 'log';
    const S = 'skip';
    const cases: [string, Record<string, string>, string[] | null][] = [
      ['strict', { integrity: 'log' }, null],
      ['strict', { authenticity: 'skip' }, null],
      ['strict', { authenticTimestamp: 'skip' }, null],
      ['strict', { expiry: 'skip' }, null],
      ['skip', { authenticity: 'log' }, null],
      ['invalid', { authenticity: 'log' }, null],
      ['strict', { invalid: 'log' }, null],
      ['strict', { authenticity: 'invalid' }, null],
      ['strict', { authenticity: 'log' }, [E, L, E, E, E]],
      ['permissive', { authenticity: 'log' }, [E, L, L, L, L]],
      ['audit', { authenticity: 'log' }, [E, L, L, L, L]],
      ['strict', { expiry: 'log' }, [E, E, E, L, E]],
      ['permissive', { expiry: 'log' }, [E, E, L, L, L]],
      ['audit', { expiry: 'log' }, [E, L, L, L, L]],
      ['strict', { revocation: 'log' }, [E, E, E, E, L]],
      ['permissive', { revocation: 'log' }, [E, E, L, L, L]],
      ['audit', { revocation: 'log' }, [E, L, L, L, L]],
      ['strict', { revocation: 'skip' }, [E, E, E, E, S]],
      ['permissive', { revocation: 'skip' }, [E, E, L, L, S]],
      ['audit', { revocation: 'skip' }, [E, L, L, L, S]],
      ['permissive', { authenticTimestamp: 'log' }, [E, E, L, L, L]],
      ['audit', { authenticTimestamp: 'log' }, [E, L, L, L, L]],
      ['strict', { authenticTimestamp: 'log' }, [E, E, L, E, E]],
    ];
    for (const [level, override, want] of cases) {
      const d = level === 'skip' ? { trustStores: [], trustedIdentities: [] } : {};
      const input = doc(stmt({ signatureVerification: { level, override }, ...d }));
      if (want === null) invalid(input, /invalid signatureVerification/);
      else {
        const a = parse(input).statements[0]!.actions;
        assert.deepEqual(
          [a.integrity, a.authenticity, a.authenticTimestamp, a.expiry, a.revocation],
          want,
          `${level} ${JSON.stringify(override)}`,
        );
      }
    }
  });
  test('integrity cannot be overridden, even to enforce', () =>
    invalid(ov('strict', { integrity: 'enforce' }), /"integrity" verification can not be overridden/));
  for (const check of ['authenticity', 'authenticTimestamp', 'expiry'])
    test(`${check} cannot be skipped`, () =>
      invalid(ov('strict', { [check]: 'skip' }), /can not be skipped/));
  test('unknown check, unknown action, override with skip', () => {
    invalid(ov('strict', { signature: 'log' }), /verification type "signature"/);
    invalid(ov('strict', { expiry: 'warn' }), /verification action "warn"/);
    invalid(ov('strict', { expiry: 'Log' }), /verification action "Log"/);
    invalid(
      doc(
        stmt({
          signatureVerification: { level: 'skip', override: { revocation: 'skip' } },
          trustStores: [],
          trustedIdentities: [],
        }),
      ),
      /"skip" can't be used to customize/,
    );
  });
  test('level missing, empty, unknown or not lower-case', () => {
    invalid(doc(stmt({ signatureVerification: {} })), /level is empty or missing/);
    invalid(doc(stmt({ signatureVerification: undefined })), /level is empty or missing/);
    invalid(
      doc(stmt({ signatureVerification: { level: 'Strict' } })),
      /invalid signature verification level "Strict"/,
    );
  });
  test('verifyTimestamp: always | afterCertExpiry, default always', () => {
    assert.equal(parse(doc(stmt())).statements[0]!.verifyTimestamp, 'always');
    assert.equal(
      parse(doc(stmt({ signatureVerification: { level: 'strict', verifyTimestamp: 'afterCertExpiry' } })))
        .statements[0]!.verifyTimestamp,
      'afterCertExpiry',
    );
    invalid(
      doc(stmt({ signatureVerification: { level: 'strict', verifyTimestamp: 'never' } })),
      /verifyTimestamp must be/,
    );
  });
  test('skip takes no stores or identities; the others need both', () => {
    invalid(
      doc(stmt({ signatureVerification: { level: 'skip' } })),
      /skip signature verification but configured with trust stores/,
    );
    const s = parse(
      doc(
        stmt({ signatureVerification: { level: 'skip' }, trustStores: undefined, trustedIdentities: null }),
      ),
    ).statements[0]!;
    assert.deepEqual([s.trustStores, s.trustedIdentities], [[], []]);
    invalid(doc(stmt({ trustStores: [] })), /missing trust stores or trusted identities/);
    invalid(doc(stmt({ trustedIdentities: undefined })), /missing trust stores or trusted identities/);
  });
});

describe('notation trust policy: document rules', () => {
  test('version "1.0" only; at least one statement; names present and unique', () => {
    invalid({ trustPolicies: [stmt()] }, /empty version/);
    invalid({ version: '1.1', trustPolicies: [stmt()] }, /unsupported version "1.1"/);
    invalid(doc(), /zero trust policy statements/);
    invalid(doc(stmt({ name: '' })), /without a name/);
    invalid(
      doc(stmt(), stmt({ registryScopes: ['registry.example/other'] })),
      /"p" is not the only statement/,
    );
  });
  test('trust stores: type:name with known type and valid name', () => {
    const s = parse(doc(stmt({ trustStores: ['ca:acme', 'signingAuthority:a.b_c-d', 'tsa:t'] })))
      .statements[0]!;
    assert.deepEqual(s.trustStores, [
      { type: 'ca', name: 'acme' },
      { type: 'signingAuthority', name: 'a.b_c-d' },
      { type: 'tsa', name: 't' },
    ]);
    invalid(doc(stmt({ trustStores: ['acme'] })), /malformed trust store value "acme"/);
    invalid(doc(stmt({ trustStores: ['x509:acme'] })), /unsupported trust store type "x509"/);
    invalid(doc(stmt({ trustStores: ['ca:a/b'] })), /unsupported trust store name "a\/b"/);
  });
  test('registry scopes: syntax, wildcard alone, each scope in one statement', () => {
    const ok = [
      'registry.example/app',
      'localhost:5000/x',
      'docker.io/library/alpine',
      'a.b.c:443/x/y__z/w--v',
      'local/myOCILayout'.toLowerCase(),
    ];
    assert.deepEqual(parse(doc(stmt({ registryScopes: ok }))).statements[0]!.registryScopes, ok);
    for (const bad of [
      'registry.example',
      'registry.example/App',
      'registry.example/app:1.0',
      'registry.example/app@sha256:00',
      'https://registry.example/app',
      'registry.example/app/',
      '/app',
      'reg_istry/app',
      'registry.example/a*',
      'registry.example/a..b',
      'registry.example/-a',
      'registry.example/a___b',
    ])
      invalid(doc(stmt({ registryScopes: [bad] })), /not valid/);
    invalid(doc(stmt({ registryScopes: [] })), /zero registry scopes/);
    invalid(doc(stmt({ registryScopes: ['*', 'registry.example/app'] })), /wildcard scope cannot be used/);
    invalid(
      doc(stmt({ name: 'a', registryScopes: ['*'] }), stmt({ name: 'b', registryScopes: ['*'] })),
      /"\*" in multiple statements/,
    );
    invalid(
      doc(
        stmt({ name: 'a', registryScopes: ['r.example/x', 'r.example/y'] }),
        stmt({ name: 'b', registryScopes: ['r.example/y'] }),
      ),
      /"r.example\/y" in multiple/,
    );
  });
  test('a hostile scope is judged in linear time', () => {
    const t = Date.now();
    invalid(doc(stmt({ registryScopes: [`r.example/${'a-'.repeat(50_000)}!`] })), /not valid/);
    invalid(doc(stmt({ registryScopes: [`${'a'.repeat(100_000)}-/x`] })), /not valid/);
    assert.ok(Date.now() - t < 2000);
  });
  test('unknown fields are ignored and keys match case-insensitively, as Go encoding/json does', () => {
    const d = parse({
      version: '1.0',
      extra: 1,
      TrustPolicies: [
        {
          ...stmt({ signatureVerification: undefined }),
          globalPolicy: true,
          SignatureVerification: { LEVEL: 'audit', Override: { authenticity: 'enforce' } },
        },
      ],
    });
    assert.equal(d.statements[0]!.level, 'audit');
    assert.equal(d.statements[0]!.actions.authenticity, 'enforce');
    invalid({ version: '1.0', Version: '1.0', trustPolicies: [stmt()] }, /sets version twice/);
    // Go folds ſ onto s and K (Kelvin) onto k; other non-ASCII letters never match a field
    assert.equal(parse({ verſion: '1.0', trustPolicies: [stmt()] }).version, '1.0');
    invalid({ vérsion: '1.0', trustPolicies: [stmt()] }, /empty version/);
  });
  test('malformed JSON, wrong types, duplicate keys', () => {
    invalid('{"version": "1.0", "trustPolicies": [', /malformed/);
    invalid(doc(stmt({ trustStores: 'ca:acme' })), /malformed at trustPolicies.0.trustStores/);
    invalid({ version: 1, trustPolicies: [stmt()] }, /malformed at version/);
    invalid('{"version":"1.0","version":"1.0","trustPolicies":[]}', /malformed/);
    invalid(['not', 'an', 'object'], /malformed/);
  });
  test('bounds: statements and bytes', () => {
    const many = Array.from({ length: MAX_TRUST_POLICY_STATEMENTS + 1 }, (_, i) =>
      stmt({ name: `s${i}`, registryScopes: [`r.example/a${i}`] }),
    );
    invalid(doc(...many), /more than the 1024 accepted/);
    throwsCode(
      () => parseTrustPolicy(Buffer.alloc(MAX_TRUST_POLICY_BYTES + 1, 0x20), 'big.json'),
      'TRUST_POLICY_INVALID',
    );
    const tmp = mkdtempSync(join(tmpdir(), 'trustpin-tp-'));
    writeFileSync(join(tmp, 'big.json'), Buffer.alloc(MAX_TRUST_POLICY_BYTES + 1, 0x20));
    throwsCode(() => loadTrustPolicy(join(tmp, 'big.json')), 'TRUST_POLICY_INVALID', /big\.json/);
  });
  test('loadTrustPolicy: missing file, directory and symlink → IO_ERROR naming the path', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'trustpin-tp-'));
    throwsCode(() => loadTrustPolicy(join(tmp, 'none.json')), 'IO_ERROR', /none\.json/);
    throwsCode(() => loadTrustPolicy(tmp), 'IO_ERROR', /not a regular file/);
    writeFileSync(join(tmp, 'real.json'), JSON.stringify(doc(stmt())));
    symlinkSync(join(tmp, 'real.json'), join(tmp, 'link.json'));
    assert.equal(loadTrustPolicy(join(tmp, 'real.json')).source, join(tmp, 'real.json'));
    throwsCode(() => loadTrustPolicy(join(tmp, 'link.json')), 'IO_ERROR', /symlink/);
  });
});

describe('notation trust policy: selection (GetApplicableTrustPolicy)', () => {
  const d = parse(
    doc(
      stmt({ name: 'app', registryScopes: ['registry.example/app', 'docker.io/library/alpine'] }),
      stmt({ name: 'any', registryScopes: ['*'] }),
    ),
  );
  test('an exact scope beats *, whatever the order', () => {
    assert.equal(selectStatement(d, 'registry.example/app').name, 'app');
    assert.equal(selectStatement(d, 'docker.io/library/alpine').name, 'app');
    const rev = parse(
      doc(
        stmt({ name: 'any', registryScopes: ['*'] }),
        stmt({ name: 'app', registryScopes: ['registry.example/app'] }),
      ),
    );
    assert.equal(selectStatement(rev, 'registry.example/app').name, 'app');
  });
  test('otherwise *; no docker.io expansion or prefix match', () => {
    assert.equal(selectStatement(d, 'registry.example/app/sub').name, 'any');
    assert.equal(selectStatement(d, 'localhost:5000/x').name, 'any');
  });
  test('no statement → TRUST_POLICY_INVALID with a hint to add the scope', () => {
    const only = parse(doc(stmt()));
    assert.throws(
      () => selectStatement(only, 'registry.example/other'),
      (e: unknown) =>
        isTrustpinError(e, 'TRUST_POLICY_INVALID') &&
        /no trust policy statement applies to registry.example\/other/.test(e.message) &&
        /registryScopes/.test(e.hint ?? ''),
    );
    throwsCode(() => selectStatement(only, 'registry.example/app:tag'), 'REFERENCE_INVALID');
  });
});

describe('notation trusted identities: DN parsing (pkix.ParseDistinguishedName over go-ldap ParseDN)', () => {
  const dn = (s: string) => {
    const r = parseDistinguishedName(s);
    assert.ok(typeof r !== 'string', r as string);
    return Object.fromEntries(r);
  };
  const refused = (s: string, re: RegExp) => {
    const r = parseDistinguishedName(s);
    assert.equal(typeof r, 'string', `accepted ${s}`);
    assert.match(r as string, re);
  };
  test('spaces around types and values; S is ST', () => {
    assert.deepEqual(dn(' C = US , S=WA,O=Acme Inc '), { C: 'US', ST: 'WA', O: 'Acme Inc' });
  });
  test('RFC 4514 escapes: \\, \\+ \\\\ \\; hex, leading and trailing escaped space', () => {
    assert.deepEqual(dn('C=US,ST=WA,O=Acme\\, Inc.\\+Co\\\\x\\;y'), {
      C: 'US',
      ST: 'WA',
      O: 'Acme, Inc.+Co\\x;y',
    });
    assert.deepEqual(dn('C=US,ST=WA,O=\\ lead,OU=trail\\ '), { C: 'US', ST: 'WA', O: ' lead', OU: 'trail ' });
    assert.deepEqual(dn('C=US,ST=WA,O=caf\\C3\\A9'), { C: 'US', ST: 'WA', O: 'café' });
    assert.deepEqual(dn('C=US,ST=WA,O=a=b'), { C: 'US', ST: 'WA', O: 'a=b' });
  });
  test('quotes are ordinary characters in go-ldap v3.4.11 (a quoted comma splits)', () => {
    assert.deepEqual(dn('C=US,ST=WA,O="Acme"'), { C: 'US', ST: 'WA', O: '"Acme"' });
    refused('C=US,ST=WA,O="Acme, Inc"', /incomplete type, value pair/);
  });
  test('notation-go TestValidateTrustedIdentities cases', () => {
    refused(',,,', /incomplete type, value pair/);
    refused('C=US,C=IN', /duplicate RDN attribute for "C"/);
    refused('C=US,ST=WA', /no mandatory RDN attribute for "O"/);
    assert.deepEqual(dn('C=US,ST=WA,O=MyOrg,CustomRDN=CustomValue'), {
      C: 'US',
      ST: 'WA',
      O: 'MyOrg',
      CustomRDN: 'CustomValue',
    });
    assert.deepEqual(dn('C=US,ST=WA,O=  My.  Org'), { C: 'US', ST: 'WA', O: 'My.  Org' });
    assert.deepEqual(dn('C=US,ST=WA,O=My "special" Org \\, \\; \\\\ others'), {
      C: 'US',
      ST: 'WA',
      O: 'My "special" Org , ; \\ others',
    });
    const three = [
      'C=US,ST=WA,O=MyOrg',
      'C=US,ST=WA,O=  My.  Org',
      'C=US,ST=WA,O=My "special" Org \\, \\; \\\\ others',
    ];
    assert.equal(
      parse(doc(stmt({ trustedIdentities: three.map((d) => `x509.subject:${d}`) }))).statements.length,
      1,
    );
    invalid(
      doc(
        stmt({
          trustedIdentities: ['x509.subject:C=US,ST=WA,O=MyOrg', 'x509.subject:C=US,ST=WA,O=MyOrg,X=Y'],
        }),
      ),
      /"x509.subject:C=US,ST=WA,O=MyOrg" overlaps with "x509.subject:C=US,ST=WA,O=MyOrg,X=Y"/,
    );
  });
  test('; separates RDNs like ,', () =>
    assert.deepEqual(dn('C=US;ST=WA;O=A'), { C: 'US', ST: 'WA', O: 'A' }));
  test('refusals: =#, multi-valued, duplicate, missing C/ST/O, lower-case types, bad escapes, trailing comma', () => {
    refused('C=US,ST=WA,O=#04024869', /=#/);
    refused('C=US,ST=WA,O=a=#b', /notation does not support x509.subject identities containing "=#"/);
    refused('C=US+ST=WA,O=A', /multi-valued/);
    refused('C=US,ST=WA,S=OR,O=A', /duplicate RDN attribute for "ST"/);
    refused('C=US,ST=WA,O=A,OU=x,OU=y', /duplicate RDN attribute for "OU"/);
    refused('c=US,st=WA,o=A', /no mandatory RDN attribute for "C"/);
    refused('C=US,ST=WA,O=', /no mandatory RDN attribute for "O"/);
    refused('C=US,ST=WA,O=A\\', /corrupted escaped character/);
    refused('C=US,ST=WA,O=A\\zz', /invalid byte/);
    refused('C=US,ST=WA,O=A,', /incomplete type, value pair/);
    refused('', /no mandatory RDN attribute for "C"/);
  });
  test('an attribute first given empty may be repeated (Go reads a missing key as "")', () => {
    assert.deepEqual(dn('C=,C=US,ST=WA,O=A'), { C: 'US', ST: 'WA', O: 'A' });
  });
  test('identity prefixes: only x509.subject is parsed; others pass validation but never match', () => {
    const s = parse(doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=Acme', 'x509.san:foo'] })))
      .statements[0]!;
    assert.ok(s.trustedIdentities !== '*');
    assert.equal(s.trustedIdentities.length, 1);
    assert.equal(s.trustedIdentities[0]!.raw, 'x509.subject: C=US, ST=WA, O=Acme');
    const none = parse(doc(stmt({ trustedIdentities: ['x509.san:foo'] }))).statements[0]!;
    assert.deepEqual(none.trustedIdentities, []);
    assert.equal(
      identityMatches(none.trustedIdentities, [
        { type: 'C', value: 'US' },
        { type: 'ST', value: 'WA' },
        { type: 'O', value: 'Acme' },
      ]),
      undefined,
    );
    invalid(doc(stmt({ trustedIdentities: ['x509.subject:'] })), /without an identity value/);
  });
  test('overlap: a subset of another identity (or the same one twice) is refused; disjoint ones are fine', () => {
    invalid(
      doc(stmt({ trustedIdentities: ['x509.subject: C=US,ST=WA,O=A', 'x509.subject: C=US,ST=WA,O=A,CN=x'] })),
      /overlapping/,
    );
    invalid(
      doc(stmt({ trustedIdentities: ['x509.subject: C=US,ST=WA,O=A', 'x509.subject:C=US, ST=WA, O=A'] })),
      /overlapping/,
    );
    assert.equal(
      parse(
        doc(
          stmt({
            trustedIdentities: ['x509.subject: C=US,ST=WA,O=A,CN=x', 'x509.subject: C=US,ST=WA,O=A,CN=y'],
          }),
        ),
      ).statements.length,
      1,
    );
  });
});

describe('notation trusted identities: matching the leaf (verifyX509TrustedIdentities)', () => {
  const ids = parse(
    doc(
      stmt({
        trustedIdentities: [
          'x509.subject: C=US, ST=WA, O=Acme, CN=signer',
          'x509.subject: C=US, ST=OR, O=Other',
        ],
      }),
    ),
  ).statements[0]!.trustedIdentities;
  const leaf = (extra: { type: string; value: string }[] = []) => [
    { type: 'C', value: 'US' },
    { type: 'ST', value: 'WA' },
    { type: 'L', value: 'Seattle' },
    { type: 'O', value: 'Acme' },
    { type: 'CN', value: 'signer' },
    ...extra,
  ];
  test('every attribute of an identity, equal, in the subject; extra subject attributes are fine', () => {
    const m = identityMatches(ids, leaf());
    assert.ok(m && m !== '*');
    assert.equal(m.raw, 'x509.subject: C=US, ST=WA, O=Acme, CN=signer');
    assert.equal(identityMatches(ids, leaf([{ type: 'OU', value: 'Eng' }])), m);
  });
  test('values compare case-sensitively; a missing attribute does not match', () => {
    assert.equal(
      identityMatches(
        ids,
        leaf().map((a) => (a.type === 'O' ? { ...a, value: 'acme' } : a)),
      ),
      undefined,
    );
    assert.equal(
      identityMatches(
        ids,
        leaf().filter((a) => a.type !== 'CN'),
      ),
      undefined,
    );
  });
  test('* matches anything', () => assert.equal(identityMatches('*', []), '*'));
  test('Go keeps the last CN of a subject (one CommonName field), so a repeated CN is not refused', () => {
    const two = [
      ...leaf().filter((a) => a.type !== 'CN'),
      { type: 'CN', value: 'other' },
      { type: 'CN', value: 'signer' },
    ];
    assert.notEqual(identityMatches(ids, two), undefined);
    const lastOther = [
      ...leaf().filter((a) => a.type !== 'CN'),
      { type: 'CN', value: 'signer' },
      { type: 'CN', value: 'other' },
    ];
    assert.equal(identityMatches(ids, lastOther), undefined);
  });
  test('a subject notation-go cannot read matches nothing: emailAddress, repeated OU, no ST', () => {
    assert.equal(
      identityMatches(ids, leaf([{ type: '1.2.840.113549.1.9.1', value: 'a@b.example' }])),
      undefined,
    );
    assert.equal(
      identityMatches(
        ids,
        leaf([
          { type: 'OU', value: 'a' },
          { type: 'OU', value: 'b' },
        ]),
      ),
      undefined,
    );
    const wildcardDn = parse(doc(stmt({ trustedIdentities: ['x509.subject: C=US, S=WA, O=Acme'] })))
      .statements[0]!.trustedIdentities;
    assert.equal(
      identityMatches(
        wildcardDn,
        leaf().filter((a) => a.type !== 'ST'),
      ),
      undefined,
    );
  });
  test('special characters survive Go’s escaping and go-ldap’s unescaping', () => {
    const sp = parse(doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=Acme\\, Inc.\\+ \\#1'] })))
      .statements[0]!.trustedIdentities;
    const subj = [
      { type: 'C', value: 'US' },
      { type: 'ST', value: 'WA' },
      { type: 'O', value: 'Acme, Inc.+ #1' },
    ];
    assert.notEqual(identityMatches(sp, subj), undefined);
    const lead = parse(doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=\\ Acme\\ '] })))
      .statements[0]!.trustedIdentities;
    assert.notEqual(
      identityMatches(lead, [
        { type: 'C', value: 'US' },
        { type: 'ST', value: 'WA' },
        { type: 'O', value: ' Acme ' },
      ]),
      undefined,
    );
    assert.equal(
      identityMatches(lead, [
        { type: 'C', value: 'US' },
        { type: 'ST', value: 'WA' },
        { type: 'O', value: 'Acme' },
      ]),
      undefined,
    );
  });
  test('subjectAttributesOf reads a real certificate with Go’s short names', { skip: skipNoVectors }, () => {
    const der = (() => {
      const pem = readFileSync(
        vectorPath(
          'notation-go/verifier/testdata/truststore/x509/ca/valid-trust-store/wabbit-networks.io.crt',
        ),
        'latin1',
      );
      return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    })();
    assert.deepEqual(subjectAttributesOf(der), [
      { type: 'C', value: 'US' },
      { type: 'ST', value: 'WA' },
      { type: 'L', value: 'Seattle' },
      { type: 'O', value: 'Notary' },
      { type: 'CN', value: 'wabbit-networks.io' },
    ]);
    const id = parse(
      doc(stmt({ trustedIdentities: ['x509.subject: CN=wabbit-networks.io,O=Notary,L=Seattle,ST=WA,C=US'] })),
    ).statements[0]!.trustedIdentities;
    assert.notEqual(identityMatches(id, subjectAttributesOf(der)), undefined);
    throwsCode(() => subjectAttributesOf(Buffer.from('nope')), 'CERTIFICATE_INVALID');
  });
});
