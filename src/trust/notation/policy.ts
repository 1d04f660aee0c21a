// Notation's OCI trust policy (`trustpolicy.oci.json`, version 1.0): parsed and validated exactly as notation-go's
// `verifier/trustpolicy` does, plus bounds; statement selection by repository and X.509 trusted-identity matching.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import * as asn1js from 'asn1js';
import { TrustpinError } from '../../errors/index.js';
import {
  array,
  checkShape,
  nullable,
  nullish,
  object,
  record,
  type Shape,
  str as text,
} from '../../util/index.js';
import { parseStrictJson } from '../dct/canonical.js';
import { TRUST_STORE_NAME, TRUST_STORE_TYPES } from './truststore.js';
import type {
  CheckAction,
  TrustedIdentity,
  TrustPolicyDocument,
  TrustPolicyStatement,
  TrustStoreType,
  VerificationCheck,
  VerificationLevel,
} from './types.js';
import { kids } from './x509.js';

/** Largest trust policy file accepted (default 1 MiB; a real one is a few KB). */
export const MAX_TRUST_POLICY_BYTES = 1024 * 1024;
/** Most statements accepted in one trust policy (default 1024). */
export const MAX_TRUST_POLICY_STATEMENTS = 1024;

const POLICY_LINK = 'https://notaryproject.dev/docs/quickstart/#create-a-trust-policy';
const CHECKS: readonly VerificationCheck[] = [
  'integrity',
  'authenticity',
  'authenticTimestamp',
  'expiry',
  'revocation',
];
const ACTIONS: readonly CheckAction[] = ['enforce', 'log', 'skip'];

/** The level table (notation-go `trustpolicy.go` `LevelStrict` … `LevelSkip`; NSPEC trust policy). */
export const LEVEL_ACTIONS: Readonly<
  Record<VerificationLevel, Readonly<Record<VerificationCheck, CheckAction>>>
> = {
  strict: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'enforce',
    expiry: 'enforce',
    revocation: 'enforce',
  },
  permissive: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  },
  audit: {
    integrity: 'enforce',
    authenticity: 'log',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  },
  skip: {
    integrity: 'skip',
    authenticity: 'skip',
    authenticTimestamp: 'skip',
    expiry: 'skip',
    revocation: 'skip',
  },
};

function bad(
  source: string,
  statement: string | undefined,
  why: string,
  d: { expected?: string; found?: string; hint?: string } = {},
) {
  const where =
    statement === undefined
      ? `trust policy ${source}`
      : `trust policy ${source}: statement ${JSON.stringify(statement)}`;
  return new TrustpinError('TRUST_POLICY_INVALID', `${where} ${why}`, {
    ...d,
    hint: d.hint ?? `fix the trust policy (see ${POLICY_LINK})`,
  });
}

// Go's encoding/json: unknown fields are ignored, `null` leaves the zero value, and a key matches a field name
// case-insensitively. A field given under two spellings is refused here (Go would take the last one).
const str = nullish(text());
const strs = nullish(array(nullable(text())));
const StatementShape = object({
  name: str,
  registryScopes: strs,
  signatureVerification: nullish(
    object({
      level: str,
      override: nullish(record(nullable(text()))),
      verifyTimestamp: str,
    }),
  ),
  trustStores: strs,
  trustedIdentities: strs,
});
const DocumentShape = object({ version: str, trustPolicies: nullish(array(StatementShape)) });

const FIELDS: Record<string, readonly string[]> = {
  doc: ['version', 'trustPolicies'],
  statement: ['name', 'registryScopes', 'signatureVerification', 'trustStores', 'trustedIdentities'],
  sv: ['level', 'override', 'verifyTimestamp'],
};

/**
 * Go encoding/json's field-name folding (`foldName`: upper(lower(r)) per rune) reduced to what can equal an ASCII
 * field name: ASCII letters case-insensitively, plus the four runes that fold onto ASCII (ſ→s, K→k, İ/ı→i).
 */
function goFold(key: string): string {
  const special: Record<string, string> = { ſ: 's', '\u212a': 'k', İ: 'i', ı: 'i' };
  let out = '';
  for (const c of key) out += special[c] ?? (c < '\u0080' ? c.toLowerCase() : c);
  return out;
}

/** Rename keys that Go would bind to a field (any case) to the field's name; two spellings of one field → error. */
function goFields(v: unknown, kind: keyof typeof FIELDS, source: string): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  const seen = new Map<string, string>();
  for (const [k, val] of Object.entries(v)) {
    const fold = goFold(k);
    const field = FIELDS[kind]!.find((f) => f.toLowerCase() === fold);
    // an object handed over may carry `undefined` (JSON cannot): it is no key at all
    if (!field || val === undefined) continue;
    const prior = seen.get(field);
    if (prior !== undefined)
      throw bad(
        source,
        undefined,
        `sets ${field} twice (${JSON.stringify(prior)} and ${JSON.stringify(k)})`,
        {
          expected: `one ${JSON.stringify(field)} key`,
          found: `${JSON.stringify(prior)} and ${JSON.stringify(k)}`,
        },
      );
    seen.set(field, k);
    let inner: unknown = val;
    if (kind === 'doc' && field === 'trustPolicies' && Array.isArray(val))
      inner = val.map((s) => goFields(s, 'statement', source));
    if (kind === 'statement' && field === 'signatureVerification') inner = goFields(val, 'sv', source);
    out[field] = inner;
  }
  return out;
}

/**
 * Parse and validate an OCI trust policy document (notation-go `OCIDocument.Validate`). `input` is the file's bytes
 * or text, or already-parsed JSON; `source` names it in messages. Any breach → TRUST_POLICY_INVALID.
 */
export function parseTrustPolicy(input: Buffer | string | object, source: string): TrustPolicyDocument {
  let json: unknown = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    if (bytes.length > MAX_TRUST_POLICY_BYTES) throw tooLarge(source, bytes.length);
    try {
      json = parseStrictJson(bytes);
    } catch (e) {
      const why = (e as Error).message.replace(/^.*?: /, '');
      throw bad(source, undefined, `is malformed: ${why}`, {
        expected: 'one JSON document (UTF-8, no duplicate keys)',
        found: why,
      });
    }
  }
  const doc = checkShape(DocumentShape, goFields(json, 'doc', source), (e) =>
    bad(source, undefined, `is malformed at ${e.path || '(top level)'}: ${e.why}`, {
      expected:
        '{"version": "1.0", "trustPolicies": [{"name", "registryScopes", "signatureVerification", "trustStores", "trustedIdentities"}]}',
      found: e.why,
    }),
  );
  const version = doc.version ?? '';
  if (version === '')
    throw bad(source, undefined, 'has an empty version, version must be specified', {
      expected: '"1.0"',
      found: 'none',
    });
  if (version !== '1.0')
    throw bad(source, undefined, `uses unsupported version ${JSON.stringify(version)}`, {
      expected: '"1.0"',
      found: JSON.stringify(version),
    });
  const raw = doc.trustPolicies ?? [];
  if (raw.length === 0)
    throw bad(source, undefined, 'can not have zero trust policy statements', {
      expected: 'at least one statement in trustPolicies',
      found: 'none',
    });
  if (raw.length > MAX_TRUST_POLICY_STATEMENTS)
    throw bad(
      source,
      undefined,
      `has ${raw.length} statements, more than the ${MAX_TRUST_POLICY_STATEMENTS} accepted`,
      {
        expected: `at most ${MAX_TRUST_POLICY_STATEMENTS}`,
        found: `${raw.length}`,
      },
    );
  const names = new Set<string>();
  const statements: TrustPolicyStatement[] = [];
  for (const s of raw) {
    const name = s.name ?? '';
    if (names.has(name))
      throw bad(source, name, 'is not the only statement of that name, statement names must be unique', {
        expected: 'unique statement names',
        found: `two statements named ${JSON.stringify(name)}`,
      });
    statements.push(validateStatement(source, s));
    names.add(name);
  }
  validateRegistryScopes(source, statements);
  return { version: '1.0', source, statements };
}

type RawStatement = Shape<typeof StatementShape>;

/** notation-go `trustpolicy.go` `validatePolicyCore` (with `GetVerificationLevel`). */
function validateStatement(source: string, s: RawStatement): TrustPolicyStatement {
  const name = s.name ?? '';
  if (name === '')
    throw bad(source, undefined, 'has a statement without a name, every statement requires a name', {
      expected: 'a non-empty "name"',
      found: 'none',
    });
  const sv = s.signatureVerification ?? {};
  const { level, actions } = verificationLevel(source, name, sv.level ?? '', sv.override ?? {});
  const ts = sv.verifyTimestamp ?? '';
  if (ts !== '' && ts !== 'always' && ts !== 'afterCertExpiry')
    throw bad(
      source,
      name,
      `has invalid signatureVerification: verifyTimestamp must be "always" or "afterCertExpiry"`,
      {
        expected: '"always" or "afterCertExpiry"',
        found: JSON.stringify(ts),
      },
    );
  const stores = (s.trustStores ?? []).map((x) => x ?? '');
  const identities = (s.trustedIdentities ?? []).map((x) => x ?? '');
  const scopes = (s.registryScopes ?? []).map((x) => x ?? '');
  const base = {
    name,
    registryScopes: scopes,
    level,
    actions,
    verifyTimestamp: ts === 'afterCertExpiry' ? 'afterCertExpiry' : 'always',
  } as const;
  if (level === 'skip') {
    if (stores.length > 0 || identities.length > 0)
      throw bad(
        source,
        name,
        'is set to skip signature verification but configured with trust stores and/or trusted identities',
        {
          expected: 'no trustStores and no trustedIdentities with level "skip"',
          found: `${stores.length} trust stores, ${identities.length} trusted identities`,
          hint: 'remove them if signature verification needs to be skipped',
        },
      );
    return { ...base, trustStores: [], trustedIdentities: [] };
  }
  if (stores.length === 0 || identities.length === 0)
    throw bad(source, name, 'is either missing trust stores or trusted identities, both must be specified', {
      expected: 'non-empty trustStores and trustedIdentities',
      found: `${stores.length} trust stores, ${identities.length} trusted identities`,
      hint: 'name the stores (e.g. "ca:acme") and the identities (e.g. "x509.subject: C=US, ST=WA, O=Acme" or "*")',
    });
  return {
    ...base,
    trustStores: validateTrustStores(source, name, stores),
    trustedIdentities: validateTrustedIdentities(source, name, identities),
  };
}

/** notation-go `SignatureVerification.GetVerificationLevel`: the base level, then the overrides it allows. */
function verificationLevel(
  source: string,
  name: string,
  level: string,
  override: Record<string, string | null>,
): { level: VerificationLevel; actions: Record<VerificationCheck, CheckAction> } {
  const invalidSv = (why: string, d: { expected?: string; found?: string }) =>
    bad(source, name, `has invalid signatureVerification: ${why}`, d);
  if (level === '')
    throw invalidSv('signature verification level is empty or missing', {
      expected: 'strict | permissive | audit | skip',
      found: 'none',
    });
  if (!Object.hasOwn(LEVEL_ACTIONS, level))
    throw invalidSv(`invalid signature verification level ${JSON.stringify(level)}`, {
      expected: 'strict | permissive | audit | skip',
      found: JSON.stringify(level),
    });
  const lv = level as VerificationLevel;
  const actions = { ...LEVEL_ACTIONS[lv] };
  const entries = Object.entries(override);
  if (entries.length === 0) return { level: lv, actions };
  if (lv === 'skip')
    throw invalidSv(
      'signature verification level "skip" can\'t be used to customize signature verification',
      {
        expected: 'no override with level "skip"',
        found: `override of ${entries.map(([k]) => k).join(', ')}`,
      },
    );
  for (const [key, value] of entries) {
    if (!(CHECKS as readonly string[]).includes(key))
      throw invalidSv(
        `verification type ${JSON.stringify(key)} in custom signature verification is not supported`,
        {
          expected: CHECKS.join(' | '),
          found: JSON.stringify(key),
        },
      );
    const action = value ?? '';
    if (!(ACTIONS as readonly string[]).includes(action))
      throw invalidSv(
        `verification action ${JSON.stringify(action)} in custom signature verification is not supported`,
        {
          expected: ACTIONS.join(' | '),
          found: JSON.stringify(action),
        },
      );
    if (key === 'integrity')
      throw invalidSv('"integrity" verification can not be overridden in custom signature verification', {
        expected: 'overrides of authenticity, authenticTimestamp, expiry or revocation only',
        found: `integrity: ${action}`,
      });
    if (key !== 'revocation' && action === 'skip')
      throw invalidSv(
        `${JSON.stringify(key)} verification can not be skipped in custom signature verification`,
        {
          expected: `${key}: enforce | log (only revocation may be skipped)`,
          found: `${key}: skip`,
        },
      );
    actions[key as VerificationCheck] = action as CheckAction;
  }
  return { level: lv, actions };
}

/** notation-go `validateTrustStore`: `<type>:<name>`, type ca|signingAuthority|tsa, name `[a-zA-Z0-9_.-]+`. */
function validateTrustStores(
  source: string,
  name: string,
  stores: string[],
): { type: TrustStoreType; name: string }[] {
  return stores.map((entry) => {
    const i = entry.indexOf(':');
    if (i < 0)
      throw bad(
        source,
        name,
        `has malformed trust store value ${JSON.stringify(entry)}. The required format is <TrustStoreType>:<TrustStoreName>`,
        {
          expected: '<type>:<name>, e.g. "ca:acme"',
          found: JSON.stringify(entry),
        },
      );
    const type = entry.slice(0, i);
    const store = entry.slice(i + 1);
    if (!(TRUST_STORE_TYPES as readonly string[]).includes(type))
      throw bad(
        source,
        name,
        `uses an unsupported trust store type ${JSON.stringify(type)} in trust store value ${JSON.stringify(entry)}`,
        {
          expected: TRUST_STORE_TYPES.join(' | '),
          found: JSON.stringify(type),
        },
      );
    if (!TRUST_STORE_NAME.test(store))
      throw bad(
        source,
        name,
        `uses an unsupported trust store name ${JSON.stringify(store)} in trust store value ${JSON.stringify(entry)}. Named store name needs to follow [a-zA-Z0-9_.-]+ format`,
        {
          expected: `a name matching ${TRUST_STORE_NAME.source}`,
          found: JSON.stringify(store),
        },
      );
    return { type: type as TrustStoreType, name: store };
  });
}

/**
 * notation-go `validateTrustedIdentities`: `*` alone, else `<prefix>:<value>` entries; `x509.subject` values are
 * DNs (`pkix.ParseDistinguishedName`) none of which is a subset of another. Entries with another prefix pass
 * validation but are never matched (notation-go `verifyX509TrustedIdentities` skips them), so they are left out.
 */
function validateTrustedIdentities(source: string, name: string, tis: string[]): '*' | TrustedIdentity[] {
  if (tis.length > 1 && tis.includes('*'))
    throw bad(
      source,
      name,
      "uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values",
      {
        expected: '["*"] or a list of x509.subject identities',
        found: JSON.stringify(tis),
      },
    );
  if (tis.length === 1 && tis[0] === '*') return '*';
  const out: TrustedIdentity[] = [];
  for (const identity of tis) {
    if (identity === '')
      throw bad(source, name, 'has an empty trusted identity', {
        expected: '"x509.subject: C=…, ST=…, O=…"',
        found: '""',
      });
    const i = identity.indexOf(':');
    if (i < 0)
      throw bad(source, name, `has trusted identity ${JSON.stringify(identity)} missing separator`, {
        expected: '"x509.subject: <DN>"',
        found: JSON.stringify(identity),
      });
    if (identity.slice(0, i) !== 'x509.subject') continue;
    const value = identity.slice(i + 1);
    if (value === '')
      throw bad(source, name, `has trusted identity ${JSON.stringify(identity)} without an identity value`, {
        expected: '"x509.subject: C=…, ST=…, O=…"',
        found: JSON.stringify(identity),
      });
    const dn = parseDistinguishedName(value);
    if (typeof dn === 'string')
      throw bad(
        source,
        name,
        `has trusted identity ${JSON.stringify(identity)} with invalid identity value: ${dn}`,
        {
          expected:
            "an RFC 4514 DN with 'C', 'ST' (or 'S') and 'O', single-valued RDNs, no repeated attribute",
          found: JSON.stringify(value),
        },
      );
    out.push({ raw: identity, attributes: [...dn].map(([type, v]) => ({ type, value: v })) });
  }
  for (const [i, a] of out.entries())
    for (const [j, b] of out.entries())
      if (i !== j && isSubsetDN(toMap(a.attributes), toMap(b.attributes)))
        throw bad(
          source,
          name,
          `has overlapping x509 trustedIdentities, ${JSON.stringify(a.raw)} overlaps with ${JSON.stringify(b.raw)}`,
          {
            expected: 'identities none of which is a subset of another',
            found: `${a.raw} ⊆ ${b.raw}`,
            hint: 'remove the more specific identity (the broader one already admits it) or make them disjoint',
          },
        );
  return out;
}

/** notation-go `validateRegistryScopes`. */
function validateRegistryScopes(source: string, statements: TrustPolicyStatement[]): void {
  const count = new Map<string, number>();
  for (const s of statements) {
    if (s.registryScopes.length === 0)
      throw bad(
        source,
        s.name,
        'has zero registry scopes, it must specify registry scopes with at least one value',
        {
          expected: 'registryScopes such as ["registry.example/app"] or ["*"]',
          found: '[]',
        },
      );
    if (s.registryScopes.length > 1 && s.registryScopes.includes('*'))
      throw bad(
        source,
        s.name,
        "uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values",
        {
          expected: '["*"] alone',
          found: JSON.stringify(s.registryScopes),
        },
      );
    for (const scope of s.registryScopes) {
      if (scope !== '*') {
        const why = registryScopeProblem(scope);
        if (why)
          throw bad(source, s.name, `has registry scope ${JSON.stringify(scope)} that is not valid${why}`, {
            expected:
              'a fully qualified repository without scheme, tag or digest, e.g. registry.example/my/repo',
            found: JSON.stringify(scope),
          });
      }
      count.set(scope, (count.get(scope) ?? 0) + 1);
    }
  }
  for (const [scope, n] of count)
    if (n > 1)
      throw bad(
        source,
        undefined,
        `has registry scope ${JSON.stringify(scope)} in multiple statements, one registry scope value can only be associated with one statement`,
        {
          expected: 'each scope in one statement',
          found: `${scope} in ${n} statements`,
        },
      );
}

const LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const SEPARATOR = /^(?:\.|_|__|-+)$/;

/** distribution's domain regexp, checked label by label (the nested pattern backtracks badly in JavaScript). */
function validDomain(domain: string): boolean {
  const colon = domain.indexOf(':');
  const host = colon < 0 ? domain : domain.slice(0, colon);
  if (colon >= 0 && !/^[0-9]+$/.test(domain.slice(colon + 1))) return false;
  return host.split('.').every((l) => LABEL.test(l));
}

/** distribution's path-component regexp, checked run by run for the same reason. */
function validRepository(repo: string): boolean {
  return repo.split('/').every((c) => {
    if (!/^[a-z0-9._-]+$/.test(c)) return false;
    const runs = c.match(/[a-z0-9]+|[._-]+/g) ?? [];
    return (
      runs.every((r, i) => (i % 2 === 0 ? /^[a-z0-9]/.test(r) : SEPARATOR.test(r))) && runs.length % 2 === 1
    );
  });
}

/** notation-go `validateRegistryScopeFormat`; '' when valid, else why not. */
function registryScopeProblem(scope: string): string {
  if (scope.length > 1 && scope.includes('*')) return ' (wild cards are not allowed in a scope)';
  const i = scope.indexOf('/');
  if (i < 0) return ' (no "/": it must be <registry>/<repository>)';
  const domain = scope.slice(0, i);
  const repo = scope.slice(i + 1);
  if (domain === '' || !validDomain(domain))
    return ` (registry ${JSON.stringify(domain)} is not a host[:port])`;
  if (repo === '' || !validRepository(repo))
    return ` (repository ${JSON.stringify(repo)} is not lower-case path components; no tag or digest)`;
  return '';
}

// ---- distinguished names ----

/** go-ldap v3.4.11 `decodeString`: trim unescaped spaces, undo `\<special>` and `\XX` escapes (bytes, then UTF-8). */
function ldapDecode(raw: string): string {
  let s = raw.replace(/^ +| +$/g, '');
  if (s.endsWith('\\') && raw.endsWith(' ')) s += ' ';
  const cps = [...s];
  const bytes: number[] = [];
  const push = (t: string) => bytes.push(...Buffer.from(t, 'utf8'));
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c !== '\\') {
      push(c);
      continue;
    }
    if (i + 1 >= cps.length) throw new Error(`got corrupted escaped character: '${s}'`);
    const next = cps[i + 1]!;
    if (' "#+,;<=>\\'.includes(next)) {
      push(next);
      i++;
      continue;
    }
    if (i + 2 >= cps.length) throw new Error(`failed to decode escaped character: invalid byte: ${next}`);
    const xx = cps[i + 1]! + cps[i + 2]!;
    if (!/^[0-9a-fA-F]{2}$/.test(xx))
      throw new Error(`failed to decode escaped character: invalid byte: ${xx}`);
    bytes.push(Number.parseInt(xx, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** go-ldap v3.4.11 `ParseDN` (RFC 4514 as it implements it: quotes are ordinary characters, `;` separates RDNs). */
function ldapParseDN(str: string): { type: string; value: string }[][] {
  const rdns: { type: string; value: string }[][] = [];
  if (str.trim() === '') return rdns;
  let rdn: { type: string; value: string }[] = [];
  let type = '';
  let start = 0;
  let escaping = false;
  const value = (s: string) => {
    if (s.startsWith('#')) throw new Error('BER-encoded values are not supported');
    return ldapDecode(s);
  };
  for (let i = 0; i < str.length; i++) {
    const c = str[i]!;
    if (escaping) escaping = false;
    else if (c === '\\') escaping = true;
    else if (c === '=' && type.length === 0) {
      type = ldapDecode(str.slice(start, i));
      start = i + 1;
    } else if (c === ',' || c === '+' || c === ';') {
      if (type.length === 0) throw new Error('incomplete type, value pair');
      rdn.push({ type, value: value(str.slice(start, i)) });
      type = '';
      start = i + 1;
      if (c !== '+') {
        rdns.push(rdn);
        rdn = [];
      }
    }
  }
  if (type.length === 0) throw new Error('DN ended with incomplete type, value pair');
  rdn.push({ type, value: value(str.slice(start)) });
  rdns.push(rdn);
  return rdns;
}

/**
 * notation-go `internal/pkix.ParseDistinguishedName`: go-ldap's DN parse, then no `=#`, single-valued RDNs, `S` read
 * as `ST`, no attribute twice, and `C`, `ST`, `O` present (non-empty). Attribute types are compared as written
 * (case-sensitive), values exactly. Returns the attributes in order, or why the DN is refused.
 */
export function parseDistinguishedName(name: string): Map<string, string> | string {
  if (name.includes('=#'))
    return `unsupported distinguished name (DN) ${JSON.stringify(name)}: notation does not support x509.subject identities containing "=#"`;
  let rdns: { type: string; value: string }[][];
  try {
    rdns = ldapParseDN(name);
  } catch (e) {
    return `parsing distinguished name (DN) ${JSON.stringify(name)} failed with err: ${(e as Error).message}. A valid DN must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum, and follow RFC 4514 standard`;
  }
  const map = new Map<string, string>();
  for (const rdn of rdns) {
    if (rdn.length > 1)
      return `distinguished name (DN) ${JSON.stringify(name)} has multi-valued RDN attributes, remove multi-valued RDN attributes as they are not supported`;
    for (const a of rdn) {
      const type = a.type === 'S' ? 'ST' : a.type;
      // Go reads a missing map key as "": an attribute first given empty may be given again
      if ((map.get(type) ?? '') !== '')
        return `distinguished name (DN) ${JSON.stringify(name)} has duplicate RDN attribute for ${JSON.stringify(type)}, DN can only have unique RDN attributes`;
      map.set(type, a.value);
    }
  }
  for (const field of ['C', 'ST', 'O'])
    if ((map.get(field) ?? '') === '')
      return `distinguished name (DN) ${JSON.stringify(name)} has no mandatory RDN attribute for ${JSON.stringify(field)}, it must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum`;
  return map;
}

function toMap(attrs: { type: string; value: string }[]): Map<string, string> {
  return new Map(attrs.map((a) => [a.type, a.value]));
}

/** notation-go `pkix.IsSubsetDN`: every attribute of `a` has the same value in `b` (missing reads as ""). */
function isSubsetDN(a: Map<string, string>, b: Map<string, string>): boolean {
  for (const [k, v] of a) if ((b.get(k) ?? '') !== v) return false;
  return true;
}

// ---- certificate subjects ----

/** Go's `pkix` attribute names (crypto/x509/pkix `attributeTypeNames`); anything else renders as `<oid>=#<hex>`. */
const GO_NAMES: Record<string, string> = {
  '2.5.4.6': 'C',
  '2.5.4.8': 'ST',
  '2.5.4.7': 'L',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'POSTALCODE',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
};
/** The order Go's `Name.ToRDNSequence` writes the named fields in (`Name.String` prints it reversed). */
const GO_ORDER = ['C', 'ST', 'L', 'STREET', 'POSTALCODE', 'O', 'OU', 'CN', 'SERIALNUMBER'];

/**
 * A certificate's subject attributes in certificate order, typed as Go's `pkix.Name` names them (C, ST, L, STREET,
 * POSTALCODE, O, OU, CN, SERIALNUMBER). Any other attribute — emailAddress (E) included — keeps its dotted OID as
 * the type: Go prints it as `<oid>=#<hex>`, which notation-go's DN parser refuses, so such a subject never matches
 * an x509.subject identity. Not a certificate → CERTIFICATE_INVALID.
 */
export function subjectAttributesOf(der: Buffer): { type: string; value: string }[] {
  // Certificate → tbsCertificate → subject: SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }
  let atvs: asn1js.AsnType[][];
  try {
    const asn = asn1js.fromBER(new Uint8Array(der).buffer);
    if (asn.offset === -1) throw new Error('malformed DER');
    const f = kids(kids(asn.result)[0]);
    const off = f[0]?.idBlock.tagClass === 3 && f[0].idBlock.tagNumber === 0 ? 1 : 0;
    atvs = kids(f[off + 4]).flatMap((rdn) => kids(rdn).map(kids));
  } catch (e) {
    throw new TrustpinError('CERTIFICATE_INVALID', 'the signing certificate does not parse', {
      expected: 'a DER X.509 certificate',
      found: (e as Error).message,
    });
  }
  const out: { type: string; value: string }[] = [];
  for (const [t, value] of atvs) {
    if (!(t instanceof asn1js.ObjectIdentifier) || !value) continue;
    const type = t.valueBlock.toString();
    const v = value as { valueBlock?: { value?: unknown } };
    const text = typeof v.valueBlock?.value === 'string' ? v.valueBlock.value : undefined;
    const named = GO_NAMES[type];
    // Go drops a named attribute whose value is not a string (it only fills the field from strings)
    if (named && text === undefined) continue;
    out.push({
      type: named ?? type,
      value: text ?? `#${Buffer.from(value.toBER()).toString('hex')}`,
    });
  }
  return out;
}

/** Go `RDNSequence.String` value escaping. */
function goEscape(v: string): string {
  const cps = [...v];
  return cps
    .map((c, k) => {
      if (
        ',+"\\<>;'.includes(c) ||
        (c === ' ' && (k === 0 || k === cps.length - 1)) ||
        (c === '#' && k === 0)
      )
        return `\\${c}`;
      return c;
    })
    .join('');
}

/** What notation-go parses a leaf's subject into: `ParseDistinguishedName(cert.Subject.String())`. */
function leafDN(subject: { type: string; value: string }[]): Map<string, string> | undefined {
  const fields = new Map<string, string[]>();
  const extra: string[] = [];
  for (const a of subject) {
    // Go's pkix.Name keeps one CommonName and one SerialNumber (the last), and drops them when empty
    if (a.type === 'CN' || a.type === 'SERIALNUMBER') {
      if (a.value === '') fields.delete(a.type);
      else fields.set(a.type, [a.value]);
    } else if (GO_ORDER.includes(a.type)) fields.set(a.type, [...(fields.get(a.type) ?? []), a.value]);
    else
      extra.push(
        `${a.type}=${a.value.startsWith('#') ? a.value : `#${Buffer.from(a.value).toString('hex')}`}`,
      );
  }
  // Go groups every value of a field into one RDN (multi-valued when repeated), named fields after the others
  const rdns = [
    ...extra,
    ...GO_ORDER.filter((t) => fields.has(t)).map((t) =>
      fields
        .get(t)!
        .map((v) => `${t}=${goEscape(v)}`)
        .join('+'),
    ),
  ];
  const dn = parseDistinguishedName(rdns.reverse().join(','));
  return typeof dn === 'string' ? undefined : dn;
}

/**
 * notation-go `verifier/verifier.go` `verifyX509TrustedIdentities`: `*` matches any subject; otherwise the first
 * identity every attribute of which the leaf's subject has with an equal value (types and values compared exactly,
 * case-sensitive). The subject is first read the way notation-go reads it, so a subject that has no C, ST or O, a
 * repeated attribute, or one Go cannot name (emailAddress) matches nothing. `undefined` when nothing matches.
 */
export function identityMatches(
  identities: '*' | TrustedIdentity[],
  subject: { type: string; value: string }[],
): TrustedIdentity | '*' | undefined {
  if (identities === '*') return '*';
  const dn = leafDN(subject);
  if (!dn) return undefined;
  return identities.find((id) => isSubsetDN(toMap(id.attributes), dn));
}

// ---- files and selection ----

function tooLarge(source: string, size: number): TrustpinError {
  return new TrustpinError(
    'TRUST_POLICY_INVALID',
    `trust policy ${source} is ${size} bytes, more than the ${MAX_TRUST_POLICY_BYTES} accepted`,
    {
      expected: `at most ${MAX_TRUST_POLICY_BYTES} bytes`,
      found: `${size} bytes`,
      hint: 'a trust policy is a few KB; this file is not one',
    },
  );
}

/**
 * Read and validate the trust policy at `path`, refusing a symlink (notation-go `getDocument`) and anything over
 * {@link MAX_TRUST_POLICY_BYTES} before reading it whole (TRUST_POLICY_INVALID). Unreadable or missing → IO_ERROR.
 */
export function loadTrustPolicy(path: string): TrustPolicyDocument {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TrustpinError(
      'IO_ERROR',
      `cannot read the trust policy ${path}${code === 'ELOOP' ? ': it is a symlink' : ''}`,
      {
        expected: 'a readable regular file (symlinks are not supported)',
        found: (e as Error).message,
        hint:
          code === 'ENOENT'
            ? `create a trust policy (see ${POLICY_LINK})`
            : 'check the path and its permissions',
        cause: e,
      },
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new TrustpinError('IO_ERROR', `the trust policy ${path} is not a regular file`, {
        expected: 'a regular file',
        found: st.isDirectory() ? 'a directory' : 'a special file',
      });
    if (st.size > MAX_TRUST_POLICY_BYTES) throw tooLarge(path, st.size);
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > MAX_TRUST_POLICY_BYTES) throw tooLarge(path, n);
    return parseTrustPolicy(buf.subarray(0, n), path);
  } catch (e) {
    if (e instanceof TrustpinError) throw e;
    throw new TrustpinError('IO_ERROR', `cannot read the trust policy ${path}`, {
      found: (e as Error).message,
      cause: e,
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * The statement for a fully qualified `repository` (`registry.example/app`; no tag or digest): the one whose
 * registryScopes hold it exactly, else the `*` statement, else TRUST_POLICY_INVALID (notation-go
 * `OCIDocument.GetApplicableTrustPolicy`). No docker.io expansion: `docker.io/library/alpine` is a scope as written.
 */
export function selectStatement(doc: TrustPolicyDocument, repository: string): TrustPolicyStatement {
  const why = registryScopeProblem(repository);
  if (why)
    throw new TrustpinError(
      'REFERENCE_INVALID',
      `${JSON.stringify(repository)} is not a fully qualified repository${why}`,
      {
        expected: '<registry>/<repository>, e.g. registry.example/my/repo',
        found: repository,
      },
    );
  let wildcard: TrustPolicyStatement | undefined;
  let exact: TrustPolicyStatement | undefined;
  for (const s of doc.statements) {
    if (s.registryScopes.includes('*')) wildcard = s;
    else if (s.registryScopes.includes(repository)) exact = s;
  }
  const chosen = exact ?? wildcard;
  if (chosen) return chosen;
  throw new TrustpinError(
    'TRUST_POLICY_INVALID',
    `no trust policy statement applies to ${repository} in ${doc.source}`,
    {
      expected: `a statement whose registryScopes include ${JSON.stringify(repository)} or "*"`,
      found: `scopes ${JSON.stringify(doc.statements.flatMap((s) => s.registryScopes))}`,
      hint: `add "${repository}" to the registryScopes of a statement (see ${POLICY_LINK})`,
    },
  );
}
