// A minimal Notary v1 publisher (spec §3.11) on node:crypto, independent of src/trust so the tests do not check
// the verifier against itself: keys, root certificates, signed metadata and the files a server serves.
import { createHash, type KeyObject, sign } from 'node:crypto';
import { p256, rootCert } from './x509.js';

/** A JSON value. */
export type J = null | boolean | number | string | J[] | { [k: string]: J };

/** docker/go MarshalCanonical: keys in bytewise UTF-8 order, only `\` and `"` escaped, no whitespace. */
export function canonical(v: J): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return JSON.stringify(v);
  if (typeof v === 'string') return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${canonical(k)}:${canonical(v[k]!)}`).join(',')}}`;
}

const sha = (alg: string, b: Buffer | string) => createHash(alg).update(b);

/** A TUF signing key with its IDs and its private half. */
export interface Key {
  /** the ID root.json / delegations list (for the root: of the certificate key) */
  id: string;
  /** the ID of the bare public key (docker's private key file name; equal to `id` for plain ecdsa keys) */
  canonicalId: string;
  priv: KeyObject;
  tuf: { keytype: string; keyval: { private: null; public: string } };
  certPem?: string;
}

const tufId = (keytype: string, pub: string) =>
  sha('sha256', canonical({ keytype, keyval: { private: null, public: pub } })).digest('hex');

/** A plain `ecdsa` key: keyval.public = base64 of the DER SubjectPublicKeyInfo. */
export function ecdsaKey(): Key {
  const { privateKey, publicKey } = p256();
  const pub = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const id = tufId('ecdsa', pub);
  return {
    id,
    canonicalId: id,
    priv: privateKey,
    tuf: { keytype: 'ecdsa', keyval: { private: null, public: pub } },
  };
}

/** Validity of a root certificate, in ms since the epoch. */
export interface CertValidity {
  notBefore?: number;
  notAfter?: number;
}

/** A root key as notary makes it: `ecdsa-x509`, keyval.public = base64 of the PEM text of a CN=GUN cert. */
export function rootKey(gun: string, now: number, v: CertValidity = {}): Key {
  const plain = ecdsaKey();
  const cert = rootCert(gun, plain.priv, v.notBefore ?? now - 3_600_000, v.notAfter ?? now + 10 * YEAR);
  const pub = Buffer.from(cert.pem).toString('base64');
  const tuf = { keytype: 'ecdsa-x509', keyval: { private: null, public: pub } };
  return { id: tufId('ecdsa-x509', pub), canonicalId: plain.id, priv: plain.priv, tuf, certPem: cert.pem };
}

/** TUF FILEMETA: the length and hashes of a metadata file. */
export interface FileMeta {
  length: number;
  hashes: { sha256: string; sha512?: string };
}
/** FILEMETA of exact bytes: length + base64 (not hex) sha256 and sha512. */
export function fileMeta(b: Buffer): FileMeta {
  return {
    length: b.length,
    hashes: { sha256: sha('sha256', b).digest('base64'), sha512: sha('sha512', b).digest('base64') },
  };
}

/** A signed TUF document before serialisation. */
export interface Envelope {
  signed: { [k: string]: J };
  signatures: { keyid: string; method: string; sig: string }[];
}

/** Sign canonical JSON of `signed` with raw r||s (ieee-p1363) — notary rejects DER ECDSA signatures. */
export function signEnvelope(signed: Envelope['signed'], keys: Key[]): Envelope {
  const msg = Buffer.from(canonical(signed));
  const signatures = keys.map((k) => ({
    keyid: k.id,
    method: 'ecdsa',
    sig: sign('sha256', msg, { key: k.priv, dsaEncoding: 'ieee-p1363' }).toString('base64'),
  }));
  return { signed, signatures };
}

/** Serialize as notary does: `signed` is the canonical form, the envelope is plain json.Marshal output. */
export function serialize(e: Envelope): Buffer {
  return Buffer.from(`{"signed":${canonical(e.signed)},"signatures":${JSON.stringify(e.signatures)}}`);
}

/** Flip one bit of signature `i` (still base64, still 64 bytes): a well-formed but wrong signature. */
export function flipSignature(e: Envelope, i = 0): void {
  const s = e.signatures[i]!;
  const raw = Buffer.from(s.sig, 'base64');
  raw[10]! ^= 0x01;
  s.sig = raw.toString('base64');
}

/** One day in ms. */
export const DAY = 86_400_000;
/** 365 days in ms. */
export const YEAR = 365 * DAY;
const DEFAULT_EXPIRY: Record<string, number> = {
  root: 10 * YEAR,
  targets: 3 * YEAR,
  snapshot: 3 * YEAR,
  timestamp: 14 * DAY,
};

/** Go's time.Time JSON without a zero fraction (notary trims trailing zeros). */
export const goTime = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

interface TargetsRole {
  targets: Record<string, { hashes: { sha256: string }; length: number }>;
  /** child delegations in declaration order */
  children: string[];
  paths: string[];
}

interface Signed {
  version: number;
  /** canonical JSON of the document without version/expires: a change means a new version */
  body: string;
  expires: number;
  bytes: Buffer;
}

/** The publisher's clock (ms) and its root certificate's validity. */
export interface PublisherOptions {
  now: number;
  rootCert?: CertValidity;
}

/**
 * The state of one repository; `publish()` signs whatever changed (new version, fresh expiry) and keeps the
 * bytes of everything else, so consecutive snapshots of the served files can be mixed by a hostile server.
 */
export class Publisher {
  now: number;
  readonly keys: Record<string, Key[]> = {};
  readonly thresholds: Record<string, number> = { root: 1, targets: 1, snapshot: 1, timestamp: 1 };
  /** sign a role with these keys instead of its own (unknown keys, too few keys) */
  readonly signers: Record<string, Key[]> = {};
  /** explicit expiry times (ms) per role; part of the content, so setting one re-signs the role */
  readonly expires: Record<string, number> = {};
  /** called after a role is signed and before its bytes are hashed into its parent */
  afterSign?: (role: string, e: Envelope) => void;
  private readonly roles = new Map<string, TargetsRole>([
    ['targets', { targets: {}, children: [], paths: [''] }],
  ]);
  private readonly state = new Map<string, Signed>();
  private readonly forced = new Set<string>();
  private readonly roots: Buffer[] = [];
  private oldRootKeys: Key[] = [];

  constructor(
    readonly gun: string,
    o: PublisherOptions,
  ) {
    this.now = o.now;
    this.keys.root = [rootKey(gun, o.now, o.rootCert)];
    for (const r of ['targets', 'snapshot', 'timestamp']) this.keys[r] = [ecdsaKey()];
  }

  get rootKey(): Key {
    return this.keys.root![0]!;
  }

  addTarget(role: string, name: string, t: { digest: string; length: number }): this {
    const r = this.role(role);
    // defineProperty: a tag named "__proto__" must become a member, not the object's prototype
    Object.defineProperty(r.targets, name, {
      value: { hashes: { sha256: Buffer.from(t.digest, 'hex').toString('base64') }, length: t.length },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return this;
  }

  /** Delegate `name` (`<parent>/<x>`) to fresh keys (or `keys`) for prefix `paths`. */
  addDelegation(name: string, o: { paths?: string[]; keys?: Key[]; threshold?: number } = {}): Key[] {
    const parent = name.slice(0, name.lastIndexOf('/'));
    this.role(parent).children.push(name);
    this.roles.set(name, { targets: {}, children: [], paths: o.paths ?? [''] });
    this.keys[name] = o.keys ?? [ecdsaKey()];
    this.thresholds[name] = o.threshold ?? 1;
    return this.keys[name]!;
  }

  /** New root key; the next root is signed by the old and the new key (`signWithOld: false` = replaced). */
  rotateRoot(o: { cert?: CertValidity; signWithOld?: boolean } = {}): Key {
    if (o.signWithOld !== false) this.oldRootKeys = this.keys.root!;
    this.keys.root = [rootKey(this.gun, this.now, o.cert)];
    return this.rootKey;
  }

  rotateKey(role: 'targets' | 'snapshot' | 'timestamp'): Key {
    this.keys[role] = [ecdsaKey()];
    return this.keys[role]![0]!;
  }

  /** Force new versions of these roles at the next publish (their parents follow because hashes change). */
  bump(...roles: string[]): this {
    for (const r of roles) this.forced.add(r);
    return this;
  }

  version(role: string): number {
    return this.state.get(role)?.version ?? 0;
  }

  publish(): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    const put = (role: string, b: Buffer) => {
      files.set(`${role}.json`, b);
      files.set(`${role}.${sha('sha256', b).digest('hex')}.json`, b);
    };
    const root = this.signRole('root', this.rootBody(), [...this.keys.root!, ...this.oldRootKeys]);
    if (root.version > this.roots.length) {
      this.roots.push(root.bytes);
      this.oldRootKeys = [];
    }
    for (const [i, b] of this.roots.entries()) files.set(`${i + 1}.root.json`, b);
    put('root', root.bytes);
    const meta: { [k: string]: J } = { root: { ...fileMeta(root.bytes) } };
    for (const [name, r] of this.roles) {
      const b = this.signRole(name, this.targetsBody(r), this.keys[name]!).bytes;
      put(name, b);
      meta[name] = { ...fileMeta(b) };
    }
    const snap = this.signRole('snapshot', { _type: 'Snapshot', meta }, this.keys.snapshot!).bytes;
    put('snapshot', snap);
    const ts = this.signRole(
      'timestamp',
      { _type: 'Timestamp', meta: { snapshot: { ...fileMeta(snap) } } },
      this.keys.timestamp!,
    );
    put('timestamp', ts.bytes);
    return files;
  }

  private role(name: string): TargetsRole {
    const r = this.roles.get(name);
    if (!r) throw new Error(`no targets role ${name}`);
    return r;
  }

  private keyMap(keys: Key[]): { [k: string]: J } {
    return Object.fromEntries(
      keys.map((k) => [k.id, { keytype: k.tuf.keytype, keyval: { ...k.tuf.keyval } }]),
    );
  }

  private rootBody(): Envelope['signed'] {
    const all = ['root', 'targets', 'snapshot', 'timestamp'].flatMap((r) => this.keys[r]!);
    const roles = Object.fromEntries(
      ['root', 'targets', 'snapshot', 'timestamp'].map((r) => [
        r,
        { keyids: this.keys[r]!.map((k) => k.id), threshold: this.thresholds[r]! },
      ]),
    );
    return { _type: 'Root', consistent_snapshot: false, keys: this.keyMap(all), roles };
  }

  private targetsBody(r: TargetsRole): Envelope['signed'] {
    const children = r.children.map((c) => ({
      name: c,
      keyids: this.keys[c]!.map((k) => k.id),
      threshold: this.thresholds[c]!,
      paths: this.role(c).paths,
    }));
    const keys = this.keyMap(r.children.flatMap((c) => this.keys[c]!));
    return { _type: 'Targets', delegations: { keys, roles: children }, targets: r.targets };
  }

  /** Re-sign only when the content (or an explicit expiry) changed, the role was bumped, or it expired. */
  private signRole(role: string, body: Envelope['signed'], keys: Key[]): Signed {
    const kind = role.startsWith('targets') ? 'targets' : role;
    const key = canonical({ ...body, x: this.expires[role] ?? null });
    const old = this.state.get(role);
    if (old && old.body === key && !this.forced.has(role) && old.expires > this.now) return old;
    this.forced.delete(role);
    const version = (old?.version ?? 0) + 1;
    const expires = this.expires[role] ?? this.now + DEFAULT_EXPIRY[kind]!;
    const env = signEnvelope({ ...body, expires: goTime(expires), version }, this.signers[role] ?? keys);
    this.afterSign?.(role, env);
    const s = { version, body: key, expires, bytes: serialize(env) };
    this.state.set(role, s);
    return s;
  }
}
