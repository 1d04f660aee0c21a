// Root trust as notary decides it: root keys are certificates whose CN is the GUN, valid at the time of the
// check, without SHA-1; a root is signed by a threshold of its own keys, and a new root also by the old one's.
import type { X509Certificate } from 'node:crypto';
import { TrustpinError } from '../../errors/index.js';
import { canonicalKeyId, certChain, isX509, leafPublicKey, type TufKey } from './keys.js';
import { type Envelope, type RootSigned, verifyThreshold } from './metadata.js';

const DAY = 86_400_000;
const SHA1_OIDS = new Set(['1.2.840.113549.1.1.5', '1.2.840.10045.4.1', '1.2.840.10040.4.3']);

export interface RootCheck {
  gun: string;
  now: number;
  /** accept root certificates that have expired (reported as a warning) — for forensics on archived data */
  allowExpiredRoot?: boolean;
}

/**
 * The outer signatureAlgorithm OID of a DER certificate (Node 20's X509Certificate does not expose it):
 * Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID, … }, … }.
 */
export function signatureAlgorithmOid(der: Buffer): string {
  let p = 0;
  const header = (): { len: number; start: number } => {
    const tag = der[p++];
    if (tag === undefined) throw new Error('truncated');
    let len = der[p++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 4) throw new Error('bad length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[p++]!;
    }
    if (p + len > der.length) throw new Error('truncated');
    return { len, start: p };
  };
  try {
    header(); // Certificate
    const tbs = header();
    p = tbs.start + tbs.len;
    header(); // AlgorithmIdentifier
    if (der[p] !== 0x06) return '';
    const oid = header();
    const bytes = der.subarray(oid.start, oid.start + oid.len);
    const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
    let v = 0;
    for (const b of bytes.subarray(1)) {
      v = v * 128 + (b & 0x7f);
      if (!(b & 0x80)) {
        parts.push(v);
        v = 0;
      }
    }
    return parts.join('.');
  } catch {
    return '';
  }
}

function cnOf(cert: X509Certificate): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
}

function cnMatches(cn: string | undefined, gun: string): boolean {
  if (!cn) return false;
  return cn === gun || (cn.endsWith('*') && gun.startsWith(cn.slice(0, -1)));
}

export interface CertProblem {
  keyId: string;
  problem: string;
}

/** Check one root key's certificate; returns a problem description or undefined when usable. */
function certProblem(k: TufKey, opts: RootCheck, checkExpiry: boolean): string | undefined {
  try {
    return certProblemOf(k, opts, checkExpiry);
  } catch (e) {
    // a certificate (or its key) that does not decode makes this key unusable, not the verifier crash
    if (e instanceof TrustpinError) return e.message;
    throw e;
  }
}

function certProblemOf(k: TufKey, opts: RootCheck, checkExpiry: boolean): string | undefined {
  if (!isX509(k)) return `root key is ${k.keytype}, notary requires a certificate`;
  const chain = certChain(k);
  const leaf = chain[0]!;
  if (leaf.ca) return 'the first certificate is a CA certificate, not a leaf';
  if (chain.slice(1).some((c) => !c.ca)) return 'more than one leaf certificate';
  const cn = cnOf(leaf);
  if (!cnMatches(cn, opts.gun))
    return `certificate CN is ${JSON.stringify(cn)}, expected the repository ${JSON.stringify(opts.gun)}`;
  if (SHA1_OIDS.has(signatureAlgorithmOid(leaf.raw))) return 'certificate is signed with SHA-1';
  const pub = leafPublicKey(k);
  if (pub.asymmetricKeyType === 'rsa' && (pub.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    return 'RSA key shorter than 2048 bits';
  const from = Date.parse(leaf.validFrom);
  const to = Date.parse(leaf.validTo);
  if (from > to) return 'certificate NotBefore is after NotAfter';
  if (checkExpiry && !opts.allowExpiredRoot) {
    if (opts.now < from - DAY)
      return `certificate (CN=${cn}) is not valid before ${new Date(from).toISOString()}`;
    if (opts.now > to)
      return `certificate (CN=${cn}, key ${canonicalKeyId(k).slice(0, 12)}) expired on ${new Date(to).toISOString()}`;
  }
  return undefined;
}

/** The root role's keys whose certificates pass notary's checks. */
export function usableRootKeys(
  root: Envelope<RootSigned>,
  opts: RootCheck,
  checkExpiry = true,
): { keys: Record<string, TufKey>; problems: CertProblem[] } {
  const keys: Record<string, TufKey> = {};
  const problems: CertProblem[] = [];
  for (const id of root.signed.roles.root.keyids) {
    const k = root.signed.keys[id]!;
    const p = certProblem(k, opts, checkExpiry);
    if (p) problems.push({ keyId: id, problem: p });
    else keys[id] = k;
  }
  return { keys, problems };
}

/** A root must be signed by a threshold of its own usable root keys. */
export function verifyRootSelf(root: Envelope<RootSigned>, opts: RootCheck): void {
  const { keys, problems } = usableRootKeys(root, opts);
  if (Object.keys(keys).length === 0) {
    throw new TrustpinError(
      'TUF_CERT_INVALID',
      `no usable root certificate in root v${root.signed.version} of ${opts.gun}`,
      {
        expected: `a root certificate for ${opts.gun} valid at ${new Date(opts.now).toISOString()}`,
        found: problems.map((p) => `${p.keyId.slice(0, 12)}: ${p.problem}`).join('; '),
        hint: problems.some((p) => p.problem.includes('expired'))
          ? 'the publisher must rotate the root key; to examine archived data, judge it at a time the certificate was valid (option now)'
          : 'this root cannot be trusted for this repository',
      },
    );
  }
  verifyThreshold(root, keys, root.signed.roles.root);
}

/** A new root must also be signed by the previous root's threshold (expiry of old certificates not checked). */
export function verifyRootRotation(
  prev: Envelope<RootSigned>,
  next: Envelope<RootSigned>,
  opts: RootCheck,
): void {
  const { keys } = usableRootKeys(prev, opts, false);
  try {
    verifyThreshold(next, keys, prev.signed.roles.root);
  } catch (e) {
    throw new TrustpinError(
      'TUF_ROOT_ROTATION_FAILED',
      `root v${next.signed.version} of ${opts.gun} is not signed by the trusted root v${prev.signed.version}`,
      {
        expected: `signatures by ${prev.signed.roles.root.threshold} of ${prev.signed.roles.root.keyids.map((k) => k.slice(0, 12)).join(', ')}`,
        found: e instanceof TrustpinError ? (e.found ?? e.message) : String(e),
        hint: 'the repository root was replaced, not rotated: potential malicious behaviour — trust data mismatch',
      },
    );
  }
}

/** Every ID a user may have been given for a root key: the root.json (certificate) ID and the canonical ID. */
export function rootKeyIds(root: Envelope<RootSigned>): { id: string; canonical: string }[] {
  return root.signed.roles.root.keyids.map((id) => ({
    id,
    canonical: canonicalKeyId(root.signed.keys[id]!),
  }));
}
