// Reading a trust policy file (YAML or JSON) into the model of types.ts: every node checked against the schema
// with its file:line:column, every trust root's files read and parsed, and every problem collected, not the first.
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { TrustpinError } from '../errors/index.js';
import { canonicalKeyId, isX509, keyId, readKeyFile } from '../trust/dct/keys.js';
import {
  type CosignIdentity,
  type LoadedFile,
  type MirrorSpec,
  POLICY_API_VERSION,
  POLICY_KIND,
  type Policy,
  type Requirement,
  type Rule,
  type SourcePosition,
  type TrustRoot,
} from './types.js';

/** The largest policy file read (1 MiB). */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** The most rules a policy may hold. */
export const MAX_POLICY_RULES = 1024;
/** How deep `anyOf`/`allOf` may nest. */
export const MAX_REQUIREMENT_DEPTH = 16;
/** The largest key, certificate or trusted-root file a policy may name (4 MiB). */
const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024;

/** One problem (or, from the linter, a doubt) about a policy file, where it is written. */
export interface PolicyFinding {
  severity: 'error' | 'warning';
  /** `unknown-field`, `missing-file`, `bad-key`, `duplicate-scope`, `unused-trust-root`, … */
  code: string;
  message: string;
  at: SourcePosition;
  expected?: string | undefined;
  found?: string | undefined;
  hint?: string | undefined;
}

type Fields = Map<string, { key: Node; value: Node | null }>;
type RootEntry = TrustRoot & { at: SourcePosition };

/** Read `path` whole, refusing anything over `max` bytes. */
export function readCappedFile(path: string, max: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > max) throw new RangeError(`${size} bytes, over the ${max}-byte limit`);
    const buf = Buffer.alloc(size + 1);
    let n = 0;
    for (let r = 1; r > 0 && n <= max; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > max) throw new RangeError(`more than ${max} bytes`);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

class Reader {
  readonly findings: PolicyFinding[] = [];
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
    readonly baseDir: string,
  ) {}

  pos(node: Node | null | undefined, fallback?: Node): SourcePosition {
    const n = node?.range ? node : fallback;
    const p = this.lc.linePos(n?.range?.[0] ?? 0);
    return { file: this.file, line: p.line, column: p.col };
  }

  error(node: Node | null | undefined, code: string, message: string, extra: Partial<PolicyFinding> = {}) {
    this.findings.push({ severity: 'error', code, message, at: this.pos(node), ...extra });
  }

  /** The fields of a mapping, reporting any not in `allowed`. */
  fields(node: Node | null, what: string, allowed: readonly string[]): Fields | undefined {
    if (!isMap(node)) {
      this.error(node, 'wrong-type', `${what} must be a mapping`, { found: describe(node) });
      return undefined;
    }
    const out: Fields = new Map();
    for (const pair of node.items) {
      const key = pair.key as Node;
      const name = isScalar(key) ? String(key.value) : undefined;
      if (name === undefined || !allowed.includes(name)) {
        this.error(key, 'unknown-field', `unknown field ${JSON.stringify(name ?? '?')} in ${what}`, {
          expected: allowed.join(', '),
          found: String(name),
        });
        continue;
      }
      out.set(name, { key, value: (pair.value as Node | null) ?? null });
    }
    return out;
  }

  /** A required or optional string field. */
  str(f: Fields, name: string, what: string, required = false): string | undefined {
    const e = f.get(name);
    if (!e) {
      if (required) this.missing(f, name, what);
      return undefined;
    }
    if (isScalar(e.value) && typeof e.value.value === 'string' && e.value.value !== '') return e.value.value;
    this.error(e.value ?? e.key, 'wrong-type', `${what}.${name} must be a non-empty string`, {
      found: describe(e.value),
    });
    return undefined;
  }

  missing(f: Fields, name: string, what: string, node?: Node) {
    const first = node ?? [...f.values()][0]?.key;
    this.error(first, 'missing-field', `${what} needs ${name}`);
  }

  oneOf<T extends string>(f: Fields, name: string, what: string, values: readonly T[], dflt: T): T {
    const e = f.get(name);
    if (!e) return dflt;
    const v = isScalar(e.value) ? e.value.value : undefined;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    this.error(e.value ?? e.key, 'bad-value', `${what}.${name} must be one of ${values.join(', ')}`, {
      expected: values.join(' | '),
      found: describe(e.value),
    });
    return dflt;
  }

  bool(f: Fields, name: string, what: string, dflt: boolean): boolean {
    const e = f.get(name);
    if (!e) return dflt;
    if (isScalar(e.value) && typeof e.value.value === 'boolean') return e.value.value;
    this.error(e.value ?? e.key, 'wrong-type', `${what}.${name} must be true or false`, {
      found: describe(e.value),
    });
    return dflt;
  }

  /** A list of non-empty strings (a lone string is accepted as a list of one when `single`). */
  strings(node: Node | null, what: string, single = false): { value: string; node: Node }[] {
    if (single && isScalar(node) && typeof node.value === 'string') return [{ value: node.value, node }];
    if (!isSeq(node)) {
      this.error(node, 'wrong-type', `${what} must be a list of strings`, { found: describe(node) });
      return [];
    }
    const out: { value: string; node: Node }[] = [];
    for (const item of node.items as Node[]) {
      if (isScalar(item) && typeof item.value === 'string' && item.value !== '')
        out.push({ value: item.value, node: item });
      else
        this.error(item, 'wrong-type', `each entry of ${what} must be a non-empty string`, {
          found: describe(item),
        });
    }
    return out;
  }

  stringMap(
    e: { key: Node; value: Node | null } | undefined,
    what: string,
  ): Record<string, string> | undefined {
    if (!e) return undefined;
    const f = isMap(e.value) ? e.value : undefined;
    if (!f) {
      this.error(e.value ?? e.key, 'wrong-type', `${what} must be a mapping of strings`, {
        found: describe(e.value),
      });
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const p of f.items) {
      const k = p.key as Node;
      const v = p.value as Node | null;
      if (isScalar(k) && isScalar(v) && typeof v.value === 'string') out[String(k.value)] = v.value;
      else
        this.error(v ?? k, 'wrong-type', `${what}.${String(isScalar(k) ? k.value : '?')} must be a string`);
    }
    return out;
  }

  /** Read a file named in the policy (relative to the policy's directory), checked by `check`. */
  file_(
    node: Node,
    path: string,
    what: string,
    check?: (bytes: Buffer) => string | undefined,
  ): LoadedFile | undefined {
    const full = resolve(this.baseDir, path);
    let bytes: Buffer;
    try {
      bytes = readCappedFile(full, MAX_TRUST_FILE_BYTES);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const code = err.code === 'ENOENT' ? 'missing-file' : 'unreadable-file';
      this.error(
        node,
        code,
        `${what}: cannot read ${full}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
        {
          hint: 'relative paths are resolved against the directory of the policy file',
        },
      );
      return undefined;
    }
    const why = check?.(bytes);
    if (why) {
      this.error(node, 'bad-key', `${what}: ${full} ${why}`);
      return undefined;
    }
    return { path: full, bytes };
  }

  files(
    e: { key: Node; value: Node | null } | undefined,
    what: string,
    check: (b: Buffer) => string | undefined,
  ): LoadedFile[] {
    if (!e) return [];
    const out: LoadedFile[] = [];
    for (const s of this.strings(e.value, what, true)) {
      const f = this.file_(s.node, s.value, what, check);
      if (f) out.push(f);
    }
    return out;
  }
}

function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node))
    return node.value === null ? 'null' : `${typeof node.value} ${JSON.stringify(node.value)}`;
  return 'an alias';
}

const certs = (b: Buffer): string | undefined => {
  const text = b.toString('latin1');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  try {
    if (pems) for (const p of pems) new X509Certificate(p);
    else new X509Certificate(b);
    return undefined;
  } catch (e) {
    return `is not a PEM or DER certificate (${(e as Error).message})`;
  }
};

const pubKey = (b: Buffer): string | undefined => {
  try {
    createPublicKey(
      b.toString('latin1').includes('-----BEGIN')
        ? b.toString('utf8')
        : { key: b, format: 'der', type: 'spki' },
    );
    return undefined;
  } catch (e) {
    return `is not a public key (${(e as Error).message})`;
  }
};

const trustedRoot = (b: Buffer): string | undefined => {
  let doc: unknown;
  try {
    doc = JSON.parse(b.toString('utf8'));
  } catch (e) {
    return `is not JSON (${(e as Error).message})`;
  }
  const d = doc as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null) return 'is not a Sigstore trusted root (not a JSON object)';
  const mt = typeof d.mediaType === 'string' && d.mediaType.toLowerCase().includes('trustedroot');
  if (mt || Array.isArray(d.tlogs) || Array.isArray(d.certificateAuthorities)) return undefined;
  return 'is not a Sigstore trusted root (no trustedroot mediaType, tlogs or certificateAuthorities)';
};

const crl = (b: Buffer): string | undefined =>
  b.toString('latin1').includes('-----BEGIN X509 CRL-----') || b[0] === 0x30
    ? undefined
    : 'is not a PEM or DER CRL';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;
const HEX64 = /^[0-9a-f]{64}$/i;
const KINDS = ['dct', 'publicKey', 'sigstore', 'x509', 'notation'] as const;
const REQ_KINDS = ['digestPinned', 'dct', 'cosign', 'notation', 'anyOf', 'allOf'] as const;
const IDENTITY_FIELDS = ['issuer', 'issuerRegExp', 'subject', 'subjectRegExp', 'extensions'] as const;

function trustRootOf(r: Reader, name: string, node: Node | null, at: SourcePosition): RootEntry | undefined {
  const f = r.fields(node, `trustRoots.${name}`, KINDS);
  if (!f) return undefined;
  if (f.size !== 1) {
    r.error(
      node,
      f.size ? 'ambiguous-trust-root' : 'missing-field',
      `trust root ${name} must have exactly one of ${KINDS.join(', ')}`,
      {
        found: [...f.keys()].join(', ') || 'none',
      },
    );
    return undefined;
  }
  const [kind, e] = [...f.entries()][0]!;
  const what = `trustRoots.${name}.${kind}`;
  const before = r.findings.length;
  let root: TrustRoot | undefined;
  if (kind === 'publicKey') {
    if (isMap(e.value)) {
      const g = r.fields(e.value, what, ['data']);
      const data = g && r.str(g, 'data', what, true);
      if (data) {
        const why = pubKey(Buffer.from(data));
        if (why) r.error(g.get('data')!.value, 'bad-key', `${what}.data ${why}`);
        root = { kind, name, keys: [{ path: '<inline>', bytes: Buffer.from(data) }] };
      }
    } else root = { kind, name, keys: r.files(e, what, pubKey) };
  } else if (kind === 'sigstore') {
    const g = r.fields(e.value, what, ['trustedRoot']);
    const p = g && r.str(g, 'trustedRoot', what, true);
    const file = p ? r.file_(g.get('trustedRoot')!.value!, p, `${what}.trustedRoot`, trustedRoot) : undefined;
    if (file) root = { kind, name, trustedRoot: file };
  } else if (kind === 'x509') {
    const g = r.fields(e.value, what, ['roots', 'intermediates']);
    if (g) {
      if (!g.has('roots')) r.missing(g, 'roots', what, e.key);
      root = {
        kind,
        name,
        roots: r.files(g.get('roots'), `${what}.roots`, certs),
        intermediates: r.files(g.get('intermediates'), `${what}.intermediates`, certs),
      };
    }
  } else if (kind === 'notation') {
    const g = r.fields(e.value, what, ['ca', 'signingAuthority', 'tsa', 'crls']);
    if (g) {
      const ca = r.files(g.get('ca'), `${what}.ca`, certs);
      const sa = r.files(g.get('signingAuthority'), `${what}.signingAuthority`, certs);
      if (!ca.length && !sa.length && r.findings.length === before)
        r.error(e.key, 'missing-field', `${what} needs at least one ca or signingAuthority certificate`);
      root = {
        kind,
        name,
        ca,
        signingAuthority: sa,
        tsa: r.files(g.get('tsa'), `${what}.tsa`, certs),
        crls: r.files(g.get('crls'), `${what}.crls`, crl),
      };
    }
  } else {
    root = dctRoot(r, name, e, what);
  }
  return root && r.findings.length === before ? { ...root, at } : undefined;
}

function dctRoot(
  r: Reader,
  name: string,
  e: { key: Node; value: Node | null },
  what: string,
): TrustRoot | undefined {
  const g = r.fields(e.value, what, [
    'rootKeyIds',
    'rootKeys',
    'server',
    'ca',
    'archive',
    'metadataDir',
    'allowFirstUse',
  ]);
  if (!g) return undefined;
  const ids: string[] = [];
  const idsE = g.get('rootKeyIds');
  if (idsE)
    for (const s of r.strings(idsE.value, `${what}.rootKeyIds`)) {
      if (HEX64.test(s.value)) ids.push(s.value.toLowerCase());
      else
        r.error(s.node, 'bad-value', `${what}.rootKeyIds: ${JSON.stringify(s.value)} is not a key ID`, {
          expected: '64 hex digits (trustpin trust key-id FILE)',
        });
    }
  const keysE = g.get('rootKeys');
  if (keysE)
    for (const s of r.strings(keysE.value, `${what}.rootKeys`, true)) {
      const f = r.file_(s.node, s.value, `${what}.rootKeys`);
      if (!f) continue;
      try {
        const k = readKeyFile(f.bytes.toString('utf8'));
        ids.push(keyId(k));
        if (isX509(k)) ids.push(canonicalKeyId(k));
      } catch (err) {
        r.error(
          s.node,
          'bad-key',
          `${what}.rootKeys: ${f.path} is not a root key or certificate (${(err as Error).message})`,
          {
            hint: 'export it with `notary key export` or point at the root certificate docker trust wrote',
          },
        );
      }
    }
  const server = r.str(g, 'server', what);
  if (server && !/^https?:\/\/[^/\s]+/.test(server))
    r.error(g.get('server')!.value, 'bad-value', `${what}.server must be an http(s) URL`, { found: server });
  const caPath = r.str(g, 'ca', what);
  const ca = caPath ? r.file_(g.get('ca')!.value!, caPath, `${what}.ca`, certs) : undefined;
  if (g.has('archive') && g.has('metadataDir'))
    r.error(
      g.get('metadataDir')!.key,
      'ambiguous-field',
      `${what}: archive and metadataDir are the same setting; give one`,
    );
  const archName = g.has('archive') ? 'archive' : 'metadataDir';
  const archPath = r.str(g, archName, what);
  let archive: string | undefined;
  if (archPath) {
    archive = resolve(r.baseDir, archPath);
    try {
      closeSync(openSync(archive, 'r'));
    } catch {
      r.error(
        g.get(archName)!.value,
        'missing-file',
        `${what}.${archName}: no such file or directory ${archive}`,
      );
    }
  }
  const allowFirstUse = r.bool(g, 'allowFirstUse', what, false);
  const unique = [...new Set(ids)];
  if (!unique.length && !allowFirstUse && !idsE && !keysE)
    r.error(e.key, 'missing-field', `${what} needs rootKeyIds or rootKeys (or allowFirstUse: true)`, {
      hint: 'pin the repository root: trustpin trust key-id ROOT.pem gives its key ID',
    });
  return { kind: 'dct', name, rootKeyIds: unique, server, ca, archive, allowFirstUse };
}

interface Ctx {
  roots: Map<string, RootEntry>;
  declared: Set<string>;
}

function rootRef(
  r: Reader,
  ctx: Ctx,
  node: Node,
  name: string,
  what: string,
  kinds: readonly string[],
): RootEntry | undefined {
  if (!ctx.declared.has(name)) {
    r.error(node, 'unknown-trust-root', `${what}: no trust root named ${JSON.stringify(name)}`, {
      expected: [...ctx.declared].join(', ') || 'a name under trustRoots',
    });
    return undefined;
  }
  const root = ctx.roots.get(name);
  if (root && !kinds.includes(root.kind))
    r.error(
      node,
      'wrong-trust-root-kind',
      `${what}: trust root ${name} is a ${root.kind} root; this needs ${kinds.join(' or ')}`,
      {
        expected: kinds.join(' | '),
        found: root.kind,
      },
    );
  return root;
}

function requirement(
  r: Reader,
  ctx: Ctx,
  node: Node | null,
  path: string,
  depth: number,
): Requirement | undefined {
  const at = r.pos(node);
  if (depth > MAX_REQUIREMENT_DEPTH) {
    r.error(node, 'too-deep', `${path}: requirements nest deeper than ${MAX_REQUIREMENT_DEPTH}`);
    return undefined;
  }
  const f = r.fields(node, path, REQ_KINDS);
  if (!f) return undefined;
  if (f.size !== 1) {
    r.error(
      node,
      f.size ? 'ambiguous-requirement' : 'missing-field',
      `${path} must have exactly one of ${REQ_KINDS.join(', ')}`,
      {
        found: [...f.keys()].join(', ') || 'none',
      },
    );
    return undefined;
  }
  const [kind, e] = [...f.entries()][0]!;
  const base = { at, path };
  const before = r.findings.length;
  switch (kind) {
    case 'digestPinned':
      if (!(isScalar(e.value) && e.value.value === true))
        r.error(e.value ?? e.key, 'bad-value', `${path}.digestPinned must be true`, {
          found: describe(e.value),
        });
      return { kind, ...base };
    case 'anyOf':
    case 'allOf': {
      if (!isSeq(e.value) || !e.value.items.length) {
        r.error(e.value ?? e.key, 'wrong-type', `${path}.${kind} must be a non-empty list of requirements`, {
          found: describe(e.value),
        });
        return undefined;
      }
      const of = (e.value.items as Node[]).map((n, i) =>
        requirement(r, ctx, n, `${path}.${kind}[${i}]`, depth + 1),
      );
      return r.findings.length === before ? { kind, of: of as Requirement[], ...base } : undefined;
    }
    case 'dct': {
      const w = `${path}.dct`;
      const g = r.fields(e.value, w, ['trustRoot', 'signers', 'roles', 'threshold']);
      if (!g) return undefined;
      const tr = r.str(g, 'trustRoot', w, true);
      if (tr) rootRef(r, ctx, g.get('trustRoot')!.value!, tr, w, ['dct']);
      const signers = g.has('signers')
        ? r.strings(g.get('signers')!.value, `${w}.signers`).map((s) => s.value)
        : [];
      if (g.has('roles'))
        for (const s of r.strings(g.get('roles')!.value, `${w}.roles`)) {
          if (s.value === 'targets') continue;
          if (s.value.startsWith('targets/') && s.value.length > 8) signers.push(s.value.slice(8));
          else
            r.error(s.node, 'bad-value', `${w}.roles: ${JSON.stringify(s.value)} is not a targets role`, {
              expected: 'targets or targets/NAME',
            });
        }
      const th = g.get('threshold');
      if (th && !(isScalar(th.value) && th.value.value === 1))
        r.error(th.value ?? th.key, 'bad-value', `${w}.threshold: only 1 is accepted`, {
          found: describe(th.value),
          hint: 'notary thresholds live in the signed metadata (root.json, delegations), not in the policy',
        });
      // "targets" among the roles means any signer of the repository's targets
      const roles =
        g.has('roles') && r.strings(g.get('roles')!.value, 'roles').some((s) => s.value === 'targets');
      return r.findings.length === before && tr
        ? { kind, trustRoot: tr, signers: roles ? [] : [...new Set(signers)], ...base }
        : undefined;
    }
    case 'cosign':
      return cosign(r, ctx, e, path, base, before);
    case 'notation': {
      const w = `${path}.notation`;
      const g = r.fields(e.value, w, ['trustRoot', 'level', 'identities', 'userMetadata']);
      if (!g) return undefined;
      const tr = r.str(g, 'trustRoot', w, true);
      if (tr) rootRef(r, ctx, g.get('trustRoot')!.value!, tr, w, ['notation', 'x509']);
      const level = r.oneOf(g, 'level', w, ['strict', 'permissive', 'audit', 'skip'] as const, 'strict');
      const idE = g.get('identities');
      if (!idE) r.missing(g, 'identities', w, e.key);
      const identities = idE ? r.strings(idE.value, `${w}.identities`) : [];
      for (const s of identities)
        if (s.value !== '*' && !/^x509\.subject:\s*\S/.test(s.value))
          r.error(
            s.node,
            'bad-value',
            `${w}.identities: ${JSON.stringify(s.value)} is neither "*" nor "x509.subject: …"`,
          );
      if (idE && !identities.length && isSeq(idE.value))
        r.error(idE.value, 'bad-value', `${w}.identities must not be empty`);
      const userMetadata = r.stringMap(g.get('userMetadata'), `${w}.userMetadata`);
      return r.findings.length === before && tr
        ? { kind, trustRoot: tr, level, identities: identities.map((s) => s.value), userMetadata, ...base }
        : undefined;
    }
  }
  return undefined;
}

function cosign(
  r: Reader,
  ctx: Ctx,
  e: { key: Node; value: Node | null },
  path: string,
  base: { at: SourcePosition; path: string },
  before: number,
): Requirement | undefined {
  const w = `${path}.cosign`;
  const g = r.fields(e.value, w, [
    'trustRoot',
    'identity',
    'identities',
    'tlog',
    'annotations',
    'attestations',
    'signedIdentity',
  ]);
  if (!g) return undefined;
  const trE = g.get('trustRoot');
  if (!trE) r.missing(g, 'trustRoot', w, e.key);
  const names = trE ? r.strings(trE.value, `${w}.trustRoot`, true) : [];
  const roots = names.map((s) => rootRef(r, ctx, s.node, s.value, w, ['publicKey', 'sigstore']));
  const sigstore = roots.filter((x) => x?.kind === 'sigstore');
  const keys = roots.filter((x) => x?.kind === 'publicKey');
  if (sigstore.length > 1)
    r.error(trE!.value, 'bad-value', `${w}.trustRoot: at most one sigstore trust root`);
  const identities: CosignIdentity[] = [];
  const idNodes: Node[] = [];
  if (g.has('identity')) idNodes.push(g.get('identity')!.value ?? g.get('identity')!.key);
  const ids = g.get('identities');
  if (ids) {
    if (isSeq(ids.value)) idNodes.push(...(ids.value.items as Node[]));
    else
      r.error(ids.value ?? ids.key, 'wrong-type', `${w}.identities must be a list`, {
        found: describe(ids.value),
      });
  }
  for (const n of idNodes) {
    const h = r.fields(n, `${w}.identity`, IDENTITY_FIELDS);
    if (!h) continue;
    const id: CosignIdentity = {};
    for (const k of ['issuer', 'issuerRegExp', 'subject', 'subjectRegExp'] as const) {
      const v = r.str(h, k, `${w}.identity`);
      if (v === undefined) continue;
      id[k] = v;
      if (k.endsWith('RegExp'))
        try {
          new RegExp(v, 'u');
        } catch (err) {
          r.error(
            h.get(k)!.value,
            'bad-regexp',
            `${w}.identity.${k} does not compile: ${(err as Error).message}`,
            { found: v },
          );
        }
    }
    id.extensions = r.stringMap(h.get('extensions'), `${w}.identity.extensions`);
    if (id.extensions === undefined) delete id.extensions;
    if (!id.issuer && !id.issuerRegExp)
      r.error(n, 'missing-field', `${w}.identity needs issuer or issuerRegExp`);
    if (!id.subject && !id.subjectRegExp)
      r.error(n, 'missing-field', `${w}.identity needs subject or subjectRegExp`);
    identities.push(id);
  }
  const tlog = r.oneOf(g, 'tlog', w, ['required', 'optional'] as const, 'required');
  const complete = roots.every((x) => x !== undefined);
  if (complete && names.length) {
    if (identities.length && !sigstore.length)
      r.error(
        idNodes[0],
        'keyless-without-sigstore',
        `${w}: keyless identities need a sigstore trust root (Fulcio certificates)`,
        {
          hint: 'add a trust root of kind sigstore: {trustedRoot: trusted_root.json} to trustRoot',
        },
      );
    if (tlog === 'required' && !sigstore.length)
      r.error(
        g.get('tlog')?.value ?? trE!.value,
        'tlog-without-sigstore',
        `${w}: tlog: required needs a sigstore trust root (the Rekor keys)`,
        {
          hint: 'add a sigstore trust root, or set tlog: optional for keys used without the transparency log',
        },
      );
    if (!identities.length && !keys.length)
      r.error(
        trE!.value,
        'missing-field',
        `${w}: a sigstore trust root alone needs an identity (issuer and subject) or a publicKey root`,
      );
  }
  const annotations = r.stringMap(g.get('annotations'), `${w}.annotations`);
  const attestations: { predicateType: string }[] = [];
  const att = g.get('attestations');
  if (att) {
    if (!isSeq(att.value)) r.error(att.value ?? att.key, 'wrong-type', `${w}.attestations must be a list`);
    else
      for (const [i, n] of (att.value.items as Node[]).entries()) {
        const h = r.fields(n, `${w}.attestations[${i}]`, ['predicateType']);
        const p = h && r.str(h, 'predicateType', `${w}.attestations[${i}]`, true);
        if (h && !h.size) r.error(n, 'missing-field', `${w}.attestations[${i}] needs predicateType`);
        if (p) attestations.push({ predicateType: p });
      }
  }
  const si = g.get('signedIdentity');
  if (si) {
    const v = isScalar(si.value) ? si.value.value : undefined;
    if (v !== 'matchRepository' && v !== 'matchRepoDigestOrExact')
      r.error(
        si.value ?? si.key,
        'bad-value',
        `${w}.signedIdentity: only matchRepository and matchRepoDigestOrExact are supported`,
        {
          found: describe(si.value),
          hint: 'the signature must name the image repository (or its mirror origin); other identities are not supported',
        },
      );
  }
  if (r.findings.length !== before) return undefined;
  return {
    kind: 'cosign',
    trustRoots: names.map((s) => s.value),
    identities,
    tlog,
    annotations,
    attestations,
    ...base,
  };
}

/** Parse and check a policy document. `policy` is set only when there is no error finding. */
export function parsePolicy(
  text: string | Buffer,
  file: string,
  o: { baseDir?: string } = {},
): { policy?: Policy; findings: PolicyFinding[] } {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const lc = new LineCounter();
  const r = new Reader(
    file,
    lc,
    o.baseDir ?? (file.startsWith('<') ? process.cwd() : dirname(resolve(file))),
  );
  if (bytes.length > MAX_POLICY_BYTES) {
    r.error(
      null,
      'too-large',
      `the policy is ${bytes.length} bytes, over the ${MAX_POLICY_BYTES}-byte limit`,
    );
    return { findings: r.findings };
  }
  const doc = parseDocument(bytes.toString('utf8'), {
    lineCounter: lc,
    keepSourceTokens: true,
    prettyErrors: false,
    uniqueKeys: true,
  });
  for (const err of doc.errors) {
    const p = lc.linePos(err.pos[0]);
    r.findings.push({
      severity: 'error',
      code: 'syntax',
      message: err.message.split('\n')[0]!,
      at: { file, line: p.line, column: p.col },
    });
  }
  if (doc.errors.length) return { findings: r.findings };
  const top = r.fields(doc.contents, 'the policy', [
    'apiVersion',
    'kind',
    'defaults',
    'trustRoots',
    'mirrors',
    'rules',
  ]);
  if (!top) return { findings: r.findings };
  for (const [k, want] of [
    ['apiVersion', POLICY_API_VERSION],
    ['kind', POLICY_KIND],
  ] as const) {
    const e = top.get(k);
    if (!e) r.error(doc.contents, 'missing-field', `the policy needs ${k}: ${want}`);
    else if (!(isScalar(e.value) && e.value.value === want))
      r.error(e.value ?? e.key, 'bad-value', `${k} must be ${want}`, {
        expected: want,
        found: describe(e.value),
      });
  }
  const defaults = defaultsOf(r, top.get('defaults'));
  const roots = new Map<string, RootEntry>();
  const declared = new Set<string>();
  const trE = top.get('trustRoots');
  if (trE) {
    if (!isMap(trE.value))
      r.error(trE.value ?? trE.key, 'wrong-type', 'trustRoots must be a mapping of names to trust roots');
    else
      for (const p of trE.value.items) {
        const name = String(isScalar(p.key) ? p.key.value : '');
        declared.add(name);
        const root = trustRootOf(r, name, (p.value as Node | null) ?? null, r.pos(p.key as Node));
        if (root) roots.set(name, root);
      }
  }
  const mirrors = mirrorsOf(r, top.get('mirrors'));
  const rules = rulesOf(r, { roots, declared }, top.get('rules'), defaults.mode);
  if (r.findings.length) return { findings: r.findings };
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return {
    policy: { source: file, digest, defaults, trustRoots: roots, mirrors, rules },
    findings: r.findings,
  };
}

function defaultsOf(r: Reader, e: { key: Node; value: Node | null } | undefined): Policy['defaults'] {
  const g = e
    ? r.fields(e.value, 'defaults', ['mode', 'noMatch', 'digest', 'platform', 'verifyAt'])
    : (new Map() as Fields);
  const f = g ?? (new Map() as Fields);
  const mode = r.oneOf(f, 'mode', 'defaults', ['enforce', 'warn', 'audit'] as const, 'enforce');
  const noMatch = r.oneOf(f, 'noMatch', 'defaults', ['deny', 'warn', 'allow'] as const, 'deny');
  const digest = r.oneOf(f, 'digest', 'defaults', ['require', 'resolve', 'ignore'] as const, 'resolve');
  const platform = r.str(f, 'platform', 'defaults') ?? 'index';
  if (platform !== 'index' && !PLATFORM.test(platform))
    r.error(f.get('platform')!.value, 'bad-value', 'defaults.platform must be index or os/arch[/variant]', {
      found: platform,
    });
  const at = r.str(f, 'verifyAt', 'defaults') ?? 'now';
  let verifyAt: 'now' | number = 'now';
  if (at !== 'now') {
    const t = RFC3339.test(at) ? Date.parse(at) : Number.NaN;
    if (Number.isNaN(t))
      r.error(f.get('verifyAt')!.value, 'bad-value', 'defaults.verifyAt must be now or an RFC 3339 instant', {
        expected: 'now | 2026-01-31T12:00:00Z',
        found: at,
      });
    else verifyAt = t;
  }
  return { mode, noMatch, digest, platform, verifyAt };
}

function mirrorsOf(r: Reader, e: { key: Node; value: Node | null } | undefined): MirrorSpec[] {
  if (!e) return [];
  if (!isSeq(e.value)) {
    r.error(e.value ?? e.key, 'wrong-type', 'mirrors must be a list', { found: describe(e.value) });
    return [];
  }
  const out: MirrorSpec[] = [];
  for (const [i, n] of (e.value.items as Node[]).entries()) {
    const w = `mirrors[${i}]`;
    const g = r.fields(n, w, ['origin', 'mirrors', 'prove', 'signaturesFrom']);
    if (!g) continue;
    const origin = r.str(g, 'origin', w, true);
    const mE = g.get('mirrors');
    if (!mE) r.missing(g, 'mirrors', w);
    const list = mE ? r.strings(mE.value, `${w}.mirrors`).map((s) => s.value) : [];
    const pv = g.get('prove');
    if (pv && isScalar(pv.value) && pv.value.value === 'diffids') pv.value.value = 'diff_ids';
    const prove = r.oneOf(
      g,
      'prove',
      w,
      ['none', 'index', 'manifest', 'config', 'diff_ids'] as const,
      'config',
    );
    let from: ('origin' | 'mirror')[] = ['origin', 'mirror'];
    const sf = g.get('signaturesFrom');
    if (sf) {
      from = [];
      for (const s of r.strings(sf.value, `${w}.signaturesFrom`))
        if (s.value === 'origin' || s.value === 'mirror') from.push(s.value);
        else
          r.error(
            s.node,
            'bad-value',
            `${w}.signaturesFrom: ${JSON.stringify(s.value)} is neither origin nor mirror`,
          );
    }
    if (origin) out.push({ origin, mirrors: list, prove, signaturesFrom: from, at: r.pos(n) });
  }
  return out;
}

function rulesOf(
  r: Reader,
  ctx: Ctx,
  e: { key: Node; value: Node | null } | undefined,
  dflt: Rule['mode'],
): Rule[] {
  if (!e) return [];
  if (!isSeq(e.value)) {
    r.error(e.value ?? e.key, 'wrong-type', 'rules must be a list', { found: describe(e.value) });
    return [];
  }
  const items = e.value.items as Node[];
  if (items.length > MAX_POLICY_RULES) {
    r.error(
      items[MAX_POLICY_RULES],
      'too-many-rules',
      `the policy has ${items.length} rules, over the limit of ${MAX_POLICY_RULES}`,
    );
    return [];
  }
  const out: Rule[] = [];
  const names = new Map<string, SourcePosition>();
  for (const [i, n] of items.entries()) {
    const w = `rules[${i}]`;
    const g = r.fields(n, w, ['name', 'scope', 'mode', 'require']);
    if (!g) continue;
    const name = r.str(g, 'name', w, true);
    if (name) {
      const prev = names.get(name);
      if (prev)
        r.error(
          g.get('name')!.value,
          'duplicate-name',
          `${w}: rule name ${JSON.stringify(name)} is already used at line ${prev.line}`,
        );
      else names.set(name, r.pos(g.get('name')!.value));
    }
    const scope = r.str(g, 'scope', w, true);
    if (scope && /\s/.test(scope))
      r.error(g.get('scope')!.value, 'bad-value', `${w}.scope must not contain white space`, {
        found: scope,
      });
    const mode = r.oneOf(g, 'mode', w, ['enforce', 'warn', 'audit'] as const, dflt);
    const req = g.get('require');
    const require: Requirement[] = [];
    if (!req) r.missing(g, 'require', w);
    else if (!isSeq(req.value))
      r.error(req.value ?? req.key, 'wrong-type', `${w}.require must be a list (use [] to allow)`, {
        found: describe(req.value),
      });
    else
      for (const [j, m] of (req.value.items as Node[]).entries()) {
        const q = requirement(r, ctx, m, `${w}.require[${j}]`, 1);
        if (q) require.push(q);
      }
    if (name && scope) out.push({ name, scope, mode, require, index: i, at: r.pos(n) });
  }
  return out;
}

/** Read a policy file (or, with `inline`, the text itself) and check it; throws TRUST_POLICY_INVALID listing every error. */
export function loadPolicy(pathOrText: string, o: { baseDir?: string; inline?: boolean } = {}): Policy {
  const { text, file } = readPolicySource(pathOrText, o);
  const r = parsePolicy(text, file, o);
  if (r.policy) return r.policy;
  throw policyError(r.findings.filter((f) => f.severity === 'error'));
}

/** The bytes and name of a policy given as a path or (inline) as text, capped at {@link MAX_POLICY_BYTES}. */
export function readPolicySource(
  pathOrText: string,
  o: { inline?: boolean } = {},
): { text: Buffer; file: string } {
  if (o.inline) return { text: Buffer.from(pathOrText), file: '<inline>' };
  try {
    return { text: readCappedFile(pathOrText, MAX_POLICY_BYTES), file: pathOrText };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TrustpinError('TRUST_POLICY_INVALID', `${pathOrText}: cannot read the policy: ${err.message}`, {
      expected: `a readable YAML or JSON file of at most ${MAX_POLICY_BYTES} bytes`,
      cause: e,
    });
  }
}

/** One error for a list of findings: the first as the message, all of them in `found`. */
export function policyError(findings: PolicyFinding[]): TrustpinError {
  const line = (f: PolicyFinding) => `${f.at.file}:${f.at.line}:${f.at.column}: ${f.message}`;
  const first = findings[0]!;
  return new TrustpinError(
    'TRUST_POLICY_INVALID',
    `${line(first)}${findings.length > 1 ? ` (and ${findings.length - 1} more)` : ''}`,
    {
      expected: first.expected ?? `a ${POLICY_KIND} document of ${POLICY_API_VERSION}`,
      found: findings.map(line).join('\n'),
      hint: first.hint ?? 'run `trustpin policy check FILE` to list every problem',
    },
  );
}
