// Notary keys: key IDs (the TUF ID and, for x509 keys, the canonical ID of the bare public key), public key
// objects, signature checks for every method notary writes, and reading docker/notary PEM key files.
import {
  constants as C,
  createHash,
  createPublicKey,
  type KeyObject,
  verify,
  X509Certificate,
} from 'node:crypto';
import { TrustpinError } from '../../errors/index.js';
import { Lru } from '../../util/index.js';
import { canonicalJson } from './canonical.js';

export interface TufKey {
  keytype: string;
  keyval: { public: string; private?: string | null };
}

/** sha256 of the canonical JSON of `{keytype, keyval: {private: null, public}}` — what root.json lists. */
export function keyId(k: TufKey): string {
  const doc = { keytype: k.keytype, keyval: { private: null, public: k.keyval.public } };
  return createHash('sha256').update(canonicalJson(doc)).digest('hex');
}

export function isX509(k: TufKey): boolean {
  return k.keytype === 'ecdsa-x509' || k.keytype === 'rsa-x509';
}

/**
 * Keys parsed before, by their exact content (`keytype` and `public`): every update re-reads the same root,
 * targets and delegation keys, and parsing certificates dominated a warm verification. A parse is a pure function
 * of those bytes, so the entry is the same answer; only successes are kept (a key that does not parse is parsed,
 * and refused, again), and the bound keeps a hostile server's stream of new keys from growing memory.
 */
export const MAX_PARSED_KEYS = 512;
interface ParsedKey {
  chain?: X509Certificate[];
  leafKey?: KeyObject;
  key?: KeyObject;
  canonicalId?: string;
}
const parsedKeys = new Lru<string, ParsedKey>(MAX_PARSED_KEYS);
function parsedOf(k: TufKey): ParsedKey {
  const id = `${k.keytype}\0${k.keyval.public}`;
  let p = parsedKeys.get(id);
  if (!p) {
    p = {};
    parsedKeys.set(id, p);
  }
  return p;
}

/** The certificates in an x509 key's `public` (base64 of PEM text): leaf first, then intermediates. */
export function certChain(k: TufKey): X509Certificate[] {
  const p = parsedOf(k);
  p.chain ??= parseCertChain(k);
  return [...p.chain];
}

function parseCertChain(k: TufKey): X509Certificate[] {
  const pem = Buffer.from(k.keyval.public, 'base64').toString('utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw invalidKey(k, 'no certificate in the key');
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch (e) {
    throw invalidKey(k, `certificate does not parse (${(e as Error).message})`);
  }
}

/** The public key of an x509 key's leaf certificate; a key that does not decode is TUF_METADATA_INVALID. */
export function leafPublicKey(k: TufKey): KeyObject {
  const p = parsedOf(k);
  p.leafKey ??= parseLeafPublicKey(k);
  return p.leafKey;
}

function parseLeafPublicKey(k: TufKey): KeyObject {
  const leaf = certChain(k)[0]!;
  try {
    // X509Certificate parses lazily: a hostile server's certificate can parse and still hold a key that does not
    return leaf.publicKey;
  } catch (e) {
    throw invalidKey(k, `the certificate's public key does not decode (${(e as Error).message})`);
  }
}

/** The ID docker shows for private keys and signers: the plain key ID of the certificate's public key. */
export function canonicalKeyId(k: TufKey): string {
  if (!isX509(k)) return keyId(k);
  const p = parsedOf(k);
  p.canonicalId ??= x509CanonicalKeyId(k);
  return p.canonicalId;
}

function x509CanonicalKeyId(k: TufKey): string {
  const spki = leafPublicKey(k).export({ type: 'spki', format: 'der' });
  return keyId({
    keytype: k.keytype === 'ecdsa-x509' ? 'ecdsa' : 'rsa',
    keyval: { public: spki.toString('base64'), private: null },
  });
}

function invalidKey(k: TufKey, why: string): TrustpinError {
  return new TrustpinError(
    'TUF_METADATA_INVALID',
    `invalid ${k.keytype} key ${keyId(k).slice(0, 12)}: ${why}`,
  );
}

export function publicKey(k: TufKey): KeyObject {
  const p = parsedOf(k);
  p.key ??= parsePublicKey(k);
  return p.key;
}

function parsePublicKey(k: TufKey): KeyObject {
  try {
    switch (k.keytype) {
      case 'ecdsa':
      case 'rsa': {
        const b = Buffer.from(k.keyval.public, 'base64');
        // notary's pycrypto compatibility keys carry PEM text instead of DER
        if (b.subarray(0, 10).toString() === '-----BEGIN') return createPublicKey(b.toString());
        return createPublicKey({ key: b, format: 'der', type: 'spki' });
      }
      case 'ecdsa-x509':
      case 'rsa-x509':
        return leafPublicKey(k);
      case 'ed25519': {
        const raw = Buffer.from(k.keyval.public, 'base64');
        if (raw.length !== 32) throw new Error('an ed25519 public key is 32 bytes');
        return createPublicKey({
          key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
          format: 'jwk',
        });
      }
      default:
        throw new Error(`unsupported key type ${k.keytype}`);
    }
  } catch (e) {
    if (e instanceof TrustpinError) throw e;
    throw invalidKey(k, (e as Error).message);
  }
}

const EC_SIZES: Record<string, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

/**
 * Signatures that verified, by the SHA-256 of (key, method, signature, message): every update checks the same
 * cached root, snapshot and targets signatures again. The answer is a pure function of those four; only successes
 * are kept (a signature that fails is checked, and fails, again), and the bound keeps memory flat.
 */
const MAX_VERIFIED_SIGNATURES = 4096;
const verifiedSignatures = new Set<string>();

/** Check one signature over `msg` the way notary's verifiers do, including key-type/method pairing. */
export function verifySignature(k: TufKey, method: string, msg: Buffer, sigB64: string): boolean {
  // each field length-prefixed: no two different (key, method, signature) can spell the same input
  const h = createHash('sha256');
  for (const f of [k.keytype, k.keyval.public, method, sigB64])
    h.update(`${Buffer.byteLength(f)}:`).update(f);
  const id = h.update(msg).digest('base64');
  if (verifiedSignatures.has(id)) return true;
  const ok = checkSignature(k, method, msg, sigB64);
  if (ok) {
    if (verifiedSignatures.size >= MAX_VERIFIED_SIGNATURES) verifiedSignatures.clear();
    verifiedSignatures.add(id);
  }
  return ok;
}

function checkSignature(k: TufKey, method: string, msg: Buffer, sigB64: string): boolean {
  const key = publicKey(k);
  const sig = Buffer.from(sigB64, 'base64');
  const m = method.toLowerCase();
  const kind = key.asymmetricKeyType;
  try {
    if (m === 'ecdsa') {
      if (kind !== 'ec') return false;
      const n = EC_SIZES[key.asymmetricKeyDetails?.namedCurve ?? ''];
      // notary writes raw r||s of exactly 2×field size; DER signatures are rejected as notary does
      if (!n || sig.length !== 2 * n) return false;
      return verify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, sig);
    }
    if (m === 'rsapss' || m === 'pycrypto-pkcs#1 pss') {
      if (kind !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return false;
      return verify('sha256', msg, { key, padding: C.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    }
    if (m === 'rsapkcs1v15') {
      if (kind !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return false;
      return verify('sha256', msg, { key, padding: C.RSA_PKCS1_PADDING }, sig);
    }
    if (m === 'eddsa') {
      if (kind !== 'ed25519' || sig.length !== 64) return false;
      return verify(null, msg, key, sig);
    }
  } catch {
    return false;
  }
  return false;
}

/**
 * Read a public key or certificate file as docker and notary write them: PEM, possibly with `role:`/`gun:`
 * headers inside the armour (which openssl and Node refuse, so they are stripped first).
 */
export function readKeyFile(text: string): TufKey {
  const m = /-----BEGIN ([A-Z ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) {
    throw new TrustpinError('USAGE', 'not a PEM public key or certificate', {
      expected: '-----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----',
      hint: 'docker trust key generate writes NAME.pub; notary writes NAME.pem',
    });
  }
  const label = m[1]!;
  const body = m[2]!
    .split(/\r?\n/)
    .filter((l) => l !== '' && !/^[A-Za-z-]+:/.test(l))
    .join('');
  const der = Buffer.from(body, 'base64');
  try {
    return parseKeyDer(label, der);
  } catch (e) {
    if (e instanceof TrustpinError) throw e;
    throw new TrustpinError('USAGE', `the ${label.toLowerCase()} in this file does not decode`, {
      expected: `a DER ${label.toLowerCase()} inside the PEM armour`,
      found: (e as Error).message,
      hint: 'the file is damaged or not a key file',
    });
  }
}

function parseKeyDer(label: string, der: Buffer): TufKey {
  if (label === 'CERTIFICATE') {
    const cert = new X509Certificate(der);
    const type = cert.publicKey.asymmetricKeyType === 'rsa' ? 'rsa-x509' : 'ecdsa-x509';
    return {
      keytype: type,
      keyval: { public: Buffer.from(cert.toString()).toString('base64'), private: null },
    };
  }
  if (label === 'PUBLIC KEY') {
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    const t = key.asymmetricKeyType;
    if (t === 'ed25519') {
      const jwk = key.export({ format: 'jwk' });
      return {
        keytype: 'ed25519',
        keyval: { public: Buffer.from(jwk.x!, 'base64url').toString('base64'), private: null },
      };
    }
    return {
      keytype: t === 'rsa' ? 'rsa' : 'ecdsa',
      keyval: { public: der.toString('base64'), private: null },
    };
  }
  throw new TrustpinError('USAGE', `PEM block ${label} is not a public key`, {
    expected: 'PUBLIC KEY or CERTIFICATE',
    found: label,
    hint: 'never hand trustpin a private key; use the .pub/.pem public half',
  });
}
