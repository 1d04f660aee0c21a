// Notation trust policies (trustpolicy.oci.json, version 1.0) through parseTrustPolicy: notation's e2e trust
// policies when ../shared/vectors is present, and a few built here (several statements, overrides, x509.subject
// identities, skip, tsa stores, afterCertExpiry), mutated as JSON. Oracle: TRUST_POLICY_INVALID or a document whose
// statements keep notation-go's invariants: names unique and non-empty; `*` as a registry scope only alone and in
// one statement, no scope in two; every non-skip statement has trust stores and identities (valid types, names,
// `*` alone, DNs with C, ST and O); integrity always enforced and only revocation skippable unless the level skips.
import { readdirSync } from 'node:fs';
import { TrustpinError } from '../../../src/errors/index.js';
import {
  LEVEL_ACTIONS,
  MAX_TRUST_POLICY_STATEMENTS,
  parseTrustPolicy,
} from '../../../src/trust/notation/policy.js';
import type { TrustPolicyDocument } from '../../../src/trust/notation/types.js';
import { defaultPolicy } from '../../harness/notation.js';
import { haveVectors, vector, vectorPath } from '../../vectors.js';
import {
  bufferCodec,
  check,
  defineTarget,
  type JsonValue,
  mutatedJson,
  recordRejection,
} from '../harness.js';

const DIR = 'notation/test/e2e/testdata/config/trustpolicies';
const fromVectors: JsonValue[] = [];
if (haveVectors)
  for (const f of readdirSync(vectorPath(DIR)).sort()) {
    try {
      fromVectors.push(JSON.parse(vector(`${DIR}/${f}`).toString('utf8')) as JsonValue);
    } catch {
      // invalid_format_trustpolicy.json is not JSON: the byte mutations of the others cover that
    }
  }
const doc = (...statements: unknown[]) =>
  ({ version: '1.0', trustPolicies: statements }) as unknown as JsonValue;
const ACME = 'x509.subject: C=US, ST=WA, L=Seattle, O=Acme, CN=Signer';
const built: JsonValue[] = [
  doc(defaultPolicy()),
  doc(
    defaultPolicy({ name: 'wildcard', level: 'audit', trustStores: ['ca:test', 'tsa:ts'] }),
    defaultPolicy({
      name: 'apps',
      registryScopes: ['registry.example/team/app', 'localhost:5000/a/b-c_d.e'],
      level: 'permissive',
      override: { authenticity: 'log', revocation: 'skip', expiry: 'enforce' },
      verifyTimestamp: 'afterCertExpiry',
      trustStores: ['ca:acme', 'signingAuthority:sa-1', 'tsa:ts.2'],
      trustedIdentities: [ACME, 'x509.subject: C=DE, S=Berlin, O=Other\\, Inc.', 'other.prefix: ignored'],
    }),
    {
      name: 'skipped',
      registryScopes: ['registry.example/skipped'],
      signatureVerification: { level: 'skip' },
    },
  ),
  doc(
    defaultPolicy({
      name: 'strict-override',
      registryScopes: ['registry.example/x'],
      override: { authenticTimestamp: 'log', revocation: 'log' },
      trustedIdentities: ['x509.subject: C=US,ST=WA,O=Acme+CN=multi', ACME],
    }),
  ),
];

const STORE_TYPES = new Set(['ca', 'signingAuthority', 'tsa']);
const CHECKS = ['integrity', 'authenticity', 'authenticTimestamp', 'expiry', 'revocation'] as const;

function invariants(d: TrustPolicyDocument): void {
  check(d.version === '1.0', 'accepted another version');
  const n = d.statements.length;
  check(n > 0 && n <= MAX_TRUST_POLICY_STATEMENTS, () => `accepted ${n} statements`);
  const names = new Set(d.statements.map((s) => s.name));
  check(names.size === n, 'accepted two statements of one name');
  check(!names.has(''), 'accepted a statement without a name');
  const scopes = d.statements.flatMap((s) => s.registryScopes);
  check(new Set(scopes).size === scopes.length, 'accepted a registry scope in two statements');
  for (const s of d.statements) {
    const at = `statement ${JSON.stringify(s.name)}`;
    check(s.registryScopes.length > 0, `${at}: accepted no registry scopes`);
    check(
      !s.registryScopes.includes('*') || s.registryScopes.length === 1,
      `${at}: accepted * with other registry scopes`,
    );
    check(
      s.registryScopes.every((r) => r === '*' || (!r.includes('*') && r.includes('/'))),
      `${at}: accepted a registry scope that is not a repository`,
    );
    check(
      s.verifyTimestamp === 'always' || s.verifyTimestamp === 'afterCertExpiry',
      `${at}: verifyTimestamp`,
    );
    check(
      Object.keys(s.actions).sort().join() === [...CHECKS].sort().join() &&
        CHECKS.every((c) => ['enforce', 'log', 'skip'].includes(s.actions[c])),
      `${at}: actions are not one of enforce|log|skip for each check`,
    );
    if (s.level === 'skip') {
      check(
        CHECKS.every((c) => s.actions[c] === 'skip'),
        `${at}: skip level runs a check`,
      );
      check(
        s.trustStores.length === 0 && Array.isArray(s.trustedIdentities) && s.trustedIdentities.length === 0,
        `${at}: skip level with trust stores or identities`,
      );
      continue;
    }
    check(s.level in LEVEL_ACTIONS, `${at}: unknown level`);
    check(s.actions.integrity === 'enforce', () => `${at}: integrity is ${s.actions.integrity}, not enforce`);
    for (const c of CHECKS)
      check(
        c === 'revocation' || s.actions[c] !== 'skip' || LEVEL_ACTIONS[s.level][c] === 'skip',
        () => `${at}: ${c} skipped by an override`,
      );
    check(s.trustStores.length > 0, `${at}: accepted no trust stores`);
    for (const t of s.trustStores)
      check(
        STORE_TYPES.has(t.type) && /^[a-zA-Z0-9_.-]+$/.test(t.name),
        () => `${at}: accepted trust store ${t.type}:${t.name}`,
      );
    const ids = s.trustedIdentities;
    check(ids === '*' || Array.isArray(ids), `${at}: trusted identities are neither * nor a list`);
    if (ids !== '*')
      for (const id of ids) {
        const types = new Set(id.attributes.map((a) => a.type));
        check(types.size === id.attributes.length, () => `${at}: identity ${id.raw} repeats an attribute`);
        check(
          ['C', 'ST', 'O'].every((t) => id.attributes.some((a) => a.type === t && a.value !== '')),
          () => `${at}: identity ${id.raw} lacks C, ST or O`,
        );
        check(id.raw.startsWith('x509.subject:'), () => `${at}: kept identity ${id.raw}`);
      }
  }
  const wild = d.statements.filter((s) => s.registryScopes.includes('*'));
  check(wild.length <= 1, 'accepted * in two statements');
}

export default defineTarget<Buffer>({
  name: 'notation-policy',
  description:
    'parseTrustPolicy; oracle: only TRUST_POLICY_INVALID, an accepted document keeps the invariants',
  arbitrary: mutatedJson([...built, ...fromVectors]),
  run(b) {
    let d: TrustPolicyDocument;
    try {
      d = parseTrustPolicy(b, 'fuzz trustpolicy.json');
    } catch (e) {
      if (!(e instanceof TrustpinError)) throw e; // a bug, with its stack
      check(e.code === 'TRUST_POLICY_INVALID', () => `threw ${e.code}: ${e.message}`);
      recordRejection(e);
      return;
    }
    invariants(d);
  },
  ...bufferCodec,
});
