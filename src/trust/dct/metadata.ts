// Notary v1 metadata documents, one at a time: parse the envelope strictly, validate each role's structure,
// check signatures against a role's keys and threshold, expiry against a given time, and file hashes.
import { createHash } from 'node:crypto';
import { TrustpinError } from '../../errors/index.js';
import { Lru } from '../../util/index.js';
import { canonicalJson, type Json, parseStrictJson } from './canonical.js';
import { keyId, type TufKey, verifySignature } from './keys.js';

export type RoleName = 'root' | 'targets' | 'snapshot' | 'timestamp';
export const TOP_ROLES: RoleName[] = ['root', 'targets', 'snapshot', 'timestamp'];

export interface Signature {
  keyid: string;
  method: string;
  sig: string;
}
export interface RoleKeys {
  keyids: string[];
  threshold: number;
}
export interface FileMeta {
  length: number;
  hashes: Record<string, string>;
  custom?: Json;
}
export interface DelegationRole extends RoleKeys {
  name: string;
  paths: string[];
}

interface Common {
  _type: string;
  version: number;
  expires: string;
}
export interface RootSigned extends Common {
  keys: Record<string, TufKey>;
  roles: Record<RoleName, RoleKeys>;
}
export interface TargetsSigned extends Common {
  targets: Record<string, FileMeta>;
  delegations?: { keys: Record<string, TufKey>; roles: DelegationRole[] };
}
export interface SnapshotSigned extends Common {
  meta: Record<string, FileMeta>;
}
export interface TimestampSigned extends Common {
  meta: { snapshot: FileMeta };
}

export interface Envelope<T> {
  /** the role this document is for: root, targets, snapshot, timestamp or targets/<name> */
  role: string;
  signed: T;
  signatures: Signature[];
  /** exact bytes as fetched */
  raw: Buffer;
  /** canonical JSON of `signed`, the bytes the signatures cover */
  canonical: Buffer;
}

export function invalid(role: string, why: string): TrustpinError {
  return new TrustpinError('TUF_METADATA_INVALID', `${role} metadata is invalid: ${why}`, {
    hint: 'the trust server sent malformed metadata; nothing from it was used',
  });
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
/** Maps keyed by names from the document: no prototype, so `constructor` or `__proto__` are plain keys. */
const dict = <T>(): Record<string, T> => Object.create(null);
const ROLE_NAME = /^targets(\/[-a-z0-9_]+)+$/;

function fileMeta(role: string, what: string, v: unknown, requireSha256: boolean): FileMeta {
  if (!isObj(v) || !Number.isSafeInteger(v.length) || (v.length as number) < 0 || !isObj(v.hashes)) {
    throw invalid(role, `${what}: expected {length, hashes}`);
  }
  const hashes = dict<string>();
  for (const [alg, h] of Object.entries(v.hashes)) {
    if (typeof h !== 'string') throw invalid(role, `${what}: hash ${alg} is not a string`);
    hashes[alg] = h;
  }
  if (requireSha256 && !hashes.sha256) throw invalid(role, `${what}: no sha256 hash`);
  return {
    length: v.length as number,
    hashes,
    ...(v.custom !== undefined ? { custom: v.custom as Json } : {}),
  };
}

function keysOf(role: string, v: unknown): Record<string, TufKey> {
  if (!isObj(v)) throw invalid(role, 'keys is not an object');
  const out = dict<TufKey>();
  for (const [id, k] of Object.entries(v)) {
    // notary key IDs are sha256 hex; anything else (e.g. "__proto__") is not a key ID
    if (!/^[0-9a-f]{64}$/.test(id))
      throw invalid(role, `key ID ${JSON.stringify(id.slice(0, 80))} is not 64 hex characters`);
    if (
      !isObj(k) ||
      typeof k.keytype !== 'string' ||
      !isObj(k.keyval) ||
      typeof k.keyval.public !== 'string'
    ) {
      throw invalid(role, `key ${id} is malformed`);
    }
    out[id] = { keytype: k.keytype.toLowerCase(), keyval: { public: k.keyval.public, private: null } };
  }
  return out;
}

function roleKeys(role: string, what: string, v: unknown): RoleKeys {
  if (!isObj(v) || !Array.isArray(v.keyids) || !v.keyids.every((x) => typeof x === 'string')) {
    throw invalid(role, `${what}: keyids missing`);
  }
  if (!Number.isSafeInteger(v.threshold) || (v.threshold as number) < 1)
    throw invalid(role, `${what}: threshold must be ≥ 1`);
  // a key listed twice is still one key; thousands of repeats only cost every check (TUF requires unique IDs)
  if (new Set(v.keyids).size !== v.keyids.length) throw invalid(role, `${what}: a key ID is listed twice`);
  if (v.keyids.length > MAX_ROLE_KEYS)
    throw invalid(role, `${what}: ${v.keyids.length} keys, more than ${MAX_ROLE_KEYS}`);
  return { keyids: v.keyids as string[], threshold: v.threshold as number };
}

const TYPES: Record<string, string> = { root: 'Root', snapshot: 'Snapshot', timestamp: 'Timestamp' };

/**
 * Most keys one role may list, and most signatures one document may carry (default 256 each; notary repositories
 * use one to a handful). Each costs a certificate check or a signature verification; more is TUF_METADATA_INVALID.
 */
export const MAX_ROLE_KEYS = 256;
/** Most signatures one document may carry (default 256); see MAX_ROLE_KEYS. */
export const MAX_SIGNATURES = 256;
/**
 * Most delegation roles one targets document may list, and most path prefixes one role may list (default 1024
 * each; Docker Hub repositories have one or two of each). Each role is a fetch, each path a prefix check against
 * the parent's paths; more is TUF_METADATA_INVALID.
 */
export const MAX_DELEGATIONS = 1024;
/** Most path prefixes one delegation role may list (default 1024); see MAX_DELEGATIONS. */
export const MAX_DELEGATION_PATHS = 1024;

/**
 * Documents parsed before, by role and the SHA-256 of their exact bytes: every verification re-reads the same
 * cached root, snapshot and targets (and usually the same timestamp), and their strict parse and canonical
 * re-encoding dominated a warm DCT verification. Parsing is a pure function of (role, bytes); only documents that
 * parsed are kept, frozen so no caller can change what the next one gets, and signatures are still checked by
 * every caller. Small documents only, and a bound on their number: at most 64 × 256 KiB held.
 */
const MAX_PARSED_DOC_BYTES = 256 * 1024;
const MAX_PARSED_DOCS = 64;
const parsedDocs = new Lru<string, Envelope<unknown>>(MAX_PARSED_DOCS);

/** Parse one document for `role` (strict JSON; structure checked). Signatures are checked separately. */
export function parseEnvelope<T>(role: string, raw: Buffer): Envelope<T> {
  if (raw.length > MAX_PARSED_DOC_BYTES) return parseUncached<T>(role, raw);
  const key = `${role}\0${createHash('sha256').update(raw).digest('base64')}`;
  const hit = parsedDocs.get(key) as Envelope<T> | undefined;
  if (hit) return { ...hit, raw };
  const e = parseUncached<T>(role, raw);
  deepFreeze(e.signed);
  deepFreeze(e.signatures);
  parsedDocs.set(key, e);
  return { ...e };
}

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

function parseUncached<T>(role: string, raw: Buffer): Envelope<T> {
  const doc = parseStrictJson(raw);
  if (!isObj(doc) || !isObj(doc.signed) || !Array.isArray(doc.signatures)) {
    throw invalid(role, 'expected {"signed": {...}, "signatures": [...]}');
  }
  const s = doc.signed;
  // the signatures cover the object as received: canonicalise before any field is normalised or dropped
  const canonical = canonicalJson(s as Json);
  const wantType = TYPES[role] ?? 'Targets';
  if (s._type !== wantType) throw invalid(role, `_type is ${JSON.stringify(s._type)}, expected ${wantType}`);
  if (!Number.isSafeInteger(s.version) || (s.version as number) < 1)
    throw invalid(role, 'version must be an integer ≥ 1');
  if (typeof s.expires !== 'string' || Number.isNaN(parseTime(s.expires)))
    throw invalid(role, 'expires is not a time');
  if (doc.signatures.length > MAX_SIGNATURES)
    throw invalid(role, `${doc.signatures.length} signatures, more than ${MAX_SIGNATURES}`);
  const signatures = doc.signatures.map((x, i) => {
    if (
      !isObj(x) ||
      typeof x.keyid !== 'string' ||
      typeof x.sig !== 'string' ||
      typeof x.method !== 'string'
    ) {
      throw invalid(role, `signature ${i} is malformed`);
    }
    return { keyid: x.keyid, method: x.method.toLowerCase(), sig: x.sig };
  });
  if (role === 'root') {
    const keys = keysOf(role, s.keys);
    if (!isObj(s.roles)) throw invalid(role, 'roles missing');
    const roles = {} as Record<RoleName, RoleKeys>;
    for (const r of TOP_ROLES) {
      roles[r] = roleKeys(role, `role ${r}`, s.roles[r]);
      for (const id of roles[r].keyids)
        if (!keys[id]) throw invalid(role, `role ${r} names key ${id} that is not in keys`);
    }
    Object.assign(s, { keys, roles });
  } else if (role === 'snapshot') {
    if (!isObj(s.meta)) throw invalid(role, 'meta missing');
    const meta = dict<FileMeta>();
    for (const [k, v] of Object.entries(s.meta))
      meta[k] = fileMeta(role, `meta ${k}`, v, k === 'root' || k === 'targets');
    if (!meta.root || !meta.targets) throw invalid(role, 'meta must list root and targets');
    Object.assign(s, { meta });
  } else if (role === 'timestamp') {
    if (!isObj(s.meta)) throw invalid(role, 'meta missing');
    Object.assign(s, { meta: { snapshot: fileMeta(role, 'meta snapshot', s.meta.snapshot, true) } });
  } else {
    if (!isObj(s.targets)) throw invalid(role, 'targets missing');
    const targets = dict<FileMeta>();
    for (const [k, v] of Object.entries(s.targets)) targets[k] = fileMeta(role, `target ${k}`, v, false);
    let delegations: TargetsSigned['delegations'];
    if (s.delegations !== undefined && s.delegations !== null) {
      const d = s.delegations;
      if (!isObj(d) || !Array.isArray(d.roles)) throw invalid(role, 'delegations malformed');
      if (d.roles.length > MAX_DELEGATIONS)
        throw invalid(role, `${d.roles.length} delegation roles, more than ${MAX_DELEGATIONS}`);
      const keys = keysOf(role, d.keys ?? {});
      const roles = d.roles.map((r, i) => {
        if (!isObj(r) || typeof r.name !== 'string') throw invalid(role, `delegation ${i} has no name`);
        const name = r.name;
        // delegation names are also cache paths: keep them to notary's grammar, direct children only
        if (
          !ROLE_NAME.test(name) ||
          name.length >= 256 ||
          !name.startsWith(`${role}/`) ||
          name.slice(role.length + 1).includes('/')
        ) {
          throw invalid(role, `delegation name ${JSON.stringify(name)} is not a direct child of ${role}`);
        }
        const rk = roleKeys(role, `delegation ${name}`, r);
        for (const id of rk.keyids)
          if (!keys[id]) throw invalid(role, `delegation ${name} names unknown key ${id}`);
        const paths =
          Array.isArray(r.paths) && r.paths.every((p) => typeof p === 'string') ? (r.paths as string[]) : [];
        // every path is matched against the parent's paths (and each tag against them): bounded, not quadratic
        if (paths.length > MAX_DELEGATION_PATHS)
          throw invalid(
            role,
            `delegation ${name} lists ${paths.length} paths, more than ${MAX_DELEGATION_PATHS}`,
          );
        return { name, ...rk, paths };
      });
      if (new Set(roles.map((r) => r.name)).size !== roles.length)
        throw invalid(role, 'a delegation role is listed twice');
      delegations = { keys, roles };
    }
    Object.assign(s, { targets, delegations });
  }
  return { role, signed: s as unknown as T, signatures, raw, canonical };
}

/** RFC 3339 with optional fractional seconds of any length (notary trims trailing zeros) and an offset. */
export function parseTime(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return Number.NaN;
  const frac = m[2] ? m[2].slice(0, 4) : '';
  return Date.parse(`${m[1]}${frac}${m[3]}`);
}

export interface SignatureReport {
  valid: string[];
  problems: string[];
}

/**
 * Count distinct keys of `role` that produced a valid signature; fail below the threshold. Signatures by keys
 * outside the role are ignored (as notary does) but named in the error, so "unknown key" is visible.
 */
export function verifyThreshold(
  doc: Envelope<unknown>,
  keys: Record<string, TufKey>,
  role: RoleKeys,
): SignatureReport {
  const valid = new Set<string>();
  const problems: string[] = [];
  const inRole = new Set(role.keyids);
  for (const s of doc.signatures) {
    // a key that already signed validly counts once: a repeat is no second signature and is not verified again
    if (valid.has(s.keyid)) continue;
    const k = Object.hasOwn(keys, s.keyid) ? keys[s.keyid] : undefined;
    if (!inRole.has(s.keyid) || !k) {
      problems.push(`signature by key ${s.keyid.slice(0, 12)} which is not a ${doc.role} key`);
      continue;
    }
    if (keyId(k) !== s.keyid) {
      problems.push(`key ${s.keyid.slice(0, 12)} does not hash to its ID`);
      continue;
    }
    if (verifySignature(k, s.method, doc.canonical, s.sig)) valid.add(s.keyid);
    else problems.push(`signature by ${s.keyid.slice(0, 12)} (${s.method}) does not verify`);
  }
  if (valid.size < role.threshold) {
    const bad = doc.signatures.length > 0 && problems.length === doc.signatures.length;
    throw new TrustpinError(
      bad && problems.every((p) => p.includes('does not verify'))
        ? 'TUF_SIGNATURE_INVALID'
        : 'TUF_THRESHOLD_NOT_MET',
      `${doc.role} metadata v${(doc.signed as Common).version} is not signed by enough trusted keys`,
      {
        expected: `${role.threshold} valid signature(s) from ${role.keyids.map((k) => k.slice(0, 12)).join(', ')}`,
        found: `${valid.size} valid${problems.length ? `; ${problems.join('; ')}` : ''}`,
        hint: 'do not use this repository: its trust data was not signed by the keys it trusts',
      },
    );
  }
  return { valid: [...valid], problems };
}

export function checkExpiry(doc: Envelope<Common>, now: number): void {
  const exp = parseTime(doc.signed.expires);
  if (exp <= now) {
    throw new TrustpinError(
      'TUF_EXPIRED',
      `${doc.role} metadata v${doc.signed.version} expired at ${doc.signed.expires}`,
      {
        expected: `valid at ${new Date(now).toISOString()}`,
        found: `expires ${doc.signed.expires}`,
        hint:
          doc.role === 'timestamp'
            ? 'the server is serving frozen (stale) data, or the notary server stopped re-signing; judge archived data at a past time (option now)'
            : 'judge archived metadata at a time it was valid (option now)',
      },
    );
  }
}

/** The bytes must match the length and every listed hash (at least one known) of their parent's record. */
export function checkFileMeta(role: string, bytes: Buffer, meta: FileMeta, parent: string): void {
  if (bytes.length !== meta.length) {
    throw new TrustpinError('TUF_HASH_MISMATCH', `${role} is not the file ${parent} signed (length)`, {
      expected: `${meta.length} bytes`,
      found: `${bytes.length} bytes`,
      hint: 'mix-and-match or tampering: the server combined metadata that was not signed together',
    });
  }
  let known = 0;
  for (const [alg, want] of Object.entries(meta.hashes)) {
    if (alg !== 'sha256' && alg !== 'sha512') continue;
    known++;
    const got = createHash(alg).update(bytes).digest('base64');
    if (got !== want) {
      throw new TrustpinError('TUF_HASH_MISMATCH', `${role} is not the file ${parent} signed (${alg})`, {
        expected: want,
        found: got,
        hint: 'mix-and-match or tampering: the server combined metadata that was not signed together',
      });
    }
  }
  if (known === 0) throw invalid(parent, `no sha256/sha512 hash for ${role}`);
}

/** Notary delegation paths are plain prefixes; "" matches everything. */
export function pathAllowed(paths: string[], target: string): boolean {
  return paths.some((p) => target.startsWith(p));
}
