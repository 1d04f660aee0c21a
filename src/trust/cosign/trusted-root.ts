// Trust material for cosign: a Sigstore trusted_root.json (Fulcio CAs, Rekor and CT log keys, TSAs) and PEM
// public keys. Both are checked here, field by field, before @sigstore/verify sees them: it fills gaps silently.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import type { TrustpinError } from '../../errors/index.js';
import { Lru } from '../../util/index.js';
import { asObject, decodeBase64, fail, type Json, parseJsonBounded, shown, text } from './check-util.js';
import type { LoadedTrustedRoot } from './types.js';

/** Largest trusted_root.json accepted (default 1 MiB; the public-good root is about 7 KB). */
export const MAX_TRUSTED_ROOT_BYTES = 1024 * 1024;
/** Most entries accepted in each list of a trusted root (tlogs, ctlogs, CAs, TSAs; default 256). */
export const MAX_TRUSTED_ROOT_ENTRIES = 256;
/** Largest PEM public-key file accepted (default 64 KiB; an RSA-16384 key is about 3 KB). */
export const MAX_PUBLIC_KEY_PEM_BYTES = 64 * 1024;

const MEDIA_TYPE =
  /^application\/vnd\.dev\.sigstore\.trustedroot(?:\.v0\.\d+)?\+json(?:;\s*version=0\.\d+)?$/;

function invalid(source: string, field: string, why: string, found?: string): TrustpinError {
  return fail('TRUSTED_ROOT_INVALID', `trusted root ${source}: ${field} ${why}`, {
    expected: `a Sigstore trusted_root.json whose ${field} ${why.replace(/^is (not |missing)?/, 'is ')}`,
    ...(found !== undefined ? { found } : {}),
    hint: 'use the trusted_root.json from the Sigstore TUF repository (root-signing targets) or your own Sigstore deployment',
  });
}

function time(source: string, field: string, v: Json | undefined, required: boolean): number | undefined {
  if (v === undefined || v === null) {
    if (required) throw invalid(source, field, 'is missing (an open start would trust the key for all time)');
    return undefined;
  }
  const t = typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) throw invalid(source, field, 'is not an RFC 3339 time', shown(text(v)));
  return t;
}

function validFor(source: string, field: string, v: Json | undefined): void {
  const o = asObject(v);
  if (!o) throw invalid(source, field, 'is missing (every key and CA must say when it is valid)');
  const start = time(source, `${field}.start`, o.start, true)!;
  const end = time(source, `${field}.end`, o.end, false);
  if (end !== undefined && end < start) throw invalid(source, `${field}.end`, 'is before its start');
}

function bytes(source: string, field: string, v: Json | undefined): Buffer {
  if (typeof v !== 'string' || v === '') throw invalid(source, field, 'is missing or not a string');
  try {
    return decodeBase64(v, field, 'TRUSTED_ROOT_INVALID');
  } catch {
    throw invalid(source, field, 'is not base64', shown(v, 40));
  }
}

function list(source: string, root: Record<string, Json>, name: string): Record<string, Json>[] {
  const v = root[name];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(source, name, 'is not a list');
  if (v.length > MAX_TRUSTED_ROOT_ENTRIES)
    throw invalid(source, name, `has more than ${MAX_TRUSTED_ROOT_ENTRIES} entries`, `${v.length}`);
  return v.map((e, i) => {
    const o = asObject(e);
    if (!o) throw invalid(source, `${name}[${i}]`, 'is not an object');
    return o;
  });
}

function checkLog(source: string, field: string, t: Record<string, Json>): void {
  if (typeof t.baseUrl !== 'string') throw invalid(source, `${field}.baseUrl`, 'is missing');
  const pk = asObject(t.publicKey);
  if (!pk) throw invalid(source, `${field}.publicKey`, 'is missing');
  const raw = bytes(source, `${field}.publicKey.rawBytes`, pk.rawBytes);
  const details = pk.keyDetails;
  if (typeof details !== 'string') throw invalid(source, `${field}.publicKey.keyDetails`, 'is missing');
  try {
    createPublicKey({ key: raw, format: 'der', type: /PKCS1_RSA/.test(details) ? 'pkcs1' : 'spki' });
  } catch (e) {
    throw invalid(source, `${field}.publicKey.rawBytes`, 'is not a public key', (e as Error).message);
  }
  validFor(source, `${field}.publicKey.validFor`, pk.validFor);
  bytes(source, `${field}.logId.keyId`, asObject(t.logId)?.keyId);
  if (t.checkpointKeyId !== undefined && t.checkpointKeyId !== null)
    bytes(source, `${field}.checkpointKeyId.keyId`, asObject(t.checkpointKeyId)?.keyId);
}

function checkCa(source: string, field: string, c: Record<string, Json>): void {
  const certs = asObject(c.certChain)?.certificates;
  if (!Array.isArray(certs) || certs.length === 0)
    throw invalid(source, `${field}.certChain.certificates`, 'is missing or empty');
  certs.forEach((cert, i) => {
    const raw = bytes(source, `${field}.certChain.certificates[${i}].rawBytes`, asObject(cert)?.rawBytes);
    try {
      X509Certificate.parse(raw as Buffer<ArrayBuffer>);
    } catch (e) {
      throw invalid(
        source,
        `${field}.certChain.certificates[${i}]`,
        'is not an X.509 certificate',
        (e as Error).message,
      );
    }
  });
  validFor(source, `${field}.validFor`, c.validFor);
}

/**
 * Load a Sigstore trusted_root.json (bytes, text or parsed object). Every entry must carry a `validFor.start`
 * (an open start would trust a key for all time), every key and certificate must parse; otherwise
 * TRUSTED_ROOT_INVALID naming `source` and the field. Never throws anything else.
 */
export function loadTrustedRoot(input: Buffer | string | object, source: string): LoadedTrustedRoot {
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) return parseTrustedRoot(input, source);
  const key = `${contentKey(input)}\0${source}`;
  let r = loadedRoots.get(key);
  if (!r) {
    r = parseTrustedRoot(input, source);
    loadedRoots.set(key, r);
  }
  return r;
}

/**
 * Trusted roots and public keys loaded before, by the SHA-256 of their exact bytes (and the name the root is shown
 * under): a caller that makes a verifier per request (the policy evaluator does, per evaluation) would otherwise
 * re-parse the same root and key each time, and miss the per-root caches of check.ts (keyed trust material,
 * certificate checks) that hang off the loaded objects. Loading is a pure function of the bytes and the objects
 * are never changed after; only successes are kept (a bad root is refused again), and the bounds keep memory flat.
 */
export const MAX_LOADED_TRUSTED_ROOTS = 16;
/** Public keys remembered by {@link loadPublicKey} (see {@link MAX_LOADED_TRUSTED_ROOTS}). */
export const MAX_LOADED_PUBLIC_KEYS = 256;
const loadedRoots = new Lru<string, LoadedTrustedRoot>(MAX_LOADED_TRUSTED_ROOTS);
const loadedKeys = new Lru<string, { keyId: string; key: KeyObject }>(MAX_LOADED_PUBLIC_KEYS);
const contentKey = (b: string | Buffer) => createHash('sha256').update(b).digest('base64');

function parseTrustedRoot(input: Buffer | string | object, source: string): LoadedTrustedRoot {
  let doc: Json;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    try {
      doc = parseJsonBounded(b, MAX_TRUSTED_ROOT_BYTES, `trusted root ${source}`, 'TRUSTED_ROOT_INVALID');
    } catch (e) {
      const t = e as TrustpinError;
      throw fail('TRUSTED_ROOT_INVALID', t.message, {
        ...(t.expected !== undefined ? { expected: t.expected } : {}),
        ...(t.found !== undefined ? { found: t.found } : {}),
        hint: 'give a trusted_root.json file as published by Sigstore (--trusted-root)',
      });
    }
  } else doc = input as Json;
  const root = asObject(doc);
  if (!root) throw invalid(source, 'the document', 'is not a JSON object');
  if (typeof root.mediaType !== 'string' || !MEDIA_TYPE.test(root.mediaType))
    throw invalid(
      source,
      'mediaType',
      'is not application/vnd.dev.sigstore.trustedroot+json;version=0.x',
      shown(text(root.mediaType)),
    );
  const tlogs = list(source, root, 'tlogs');
  const ctlogs = list(source, root, 'ctlogs');
  const cas = list(source, root, 'certificateAuthorities');
  const tsas = list(source, root, 'timestampAuthorities');
  for (const [i, t] of tlogs.entries()) checkLog(source, `tlogs[${i}]`, t);
  for (const [i, t] of ctlogs.entries()) checkLog(source, `ctlogs[${i}]`, t);
  for (const [i, c] of cas.entries()) checkCa(source, `certificateAuthorities[${i}]`, c);
  for (const [i, c] of tsas.entries()) checkCa(source, `timestampAuthorities[${i}]`, c);
  let material: unknown;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(root));
  } catch (e) {
    throw invalid(source, 'the document', 'could not be turned into trust material', (e as Error).message);
  }
  return {
    source,
    material,
    summary: {
      certificateAuthorities: cas.length,
      tlogs: tlogs.length,
      ctlogs: ctlogs.length,
      timestampAuthorities: tsas.length,
    },
  };
}

/**
 * Load a PEM public key (SubjectPublicKeyInfo: ECDSA P-256/P-384/P-521, RSA, Ed25519) as cosign's `--key`
 * takes it; keyId = hex SHA-256 of the DER SPKI. Anything else is USAGE naming `source`.
 */
export function loadPublicKey(pem: string | Buffer, source: string): { keyId: string; key: KeyObject } {
  // the source only names the key in a refusal, and refusals are not kept: the bytes alone are the key
  const id = `${typeof pem}\0${contentKey(pem)}`;
  let k = loadedKeys.get(id);
  if (!k) {
    k = parsePublicKey(pem, source);
    loadedKeys.set(id, k);
  }
  return { ...k };
}

function parsePublicKey(pem: string | Buffer, source: string): { keyId: string; key: KeyObject } {
  const size = typeof pem === 'string' ? Buffer.byteLength(pem) : pem.length;
  const usage = (why: string, found?: string) =>
    fail('USAGE', `public key ${source}: ${why}`, {
      expected:
        'a PEM "PUBLIC KEY" (SubjectPublicKeyInfo): ECDSA P-256/P-384, RSA or Ed25519, as `cosign generate-key-pair` writes cosign.pub',
      ...(found !== undefined ? { found } : {}),
      hint: 'pass the public half (cosign.pub), not the private key or a certificate',
    });
  if (size > MAX_PUBLIC_KEY_PEM_BYTES)
    throw usage(`is larger than ${MAX_PUBLIC_KEY_PEM_BYTES} bytes`, `${size} bytes`);
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  const m = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (!m) throw usage('is not PEM', 'no -----BEGIN …----- line');
  if (m[1] !== 'PUBLIC KEY') throw usage(`holds a ${m[1]}, not a PUBLIC KEY`, m[1]);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (e) {
    throw usage('does not parse as a public key', (e as Error).message);
  }
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const ok =
    type === 'ed25519' ||
    type === 'rsa' ||
    (type === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1' || curve === 'secp521r1'));
  const kind = `${type}${curve ? ` ${curve}` : ''}`;
  if (!ok) throw usage(`is a ${kind} key, which cosign does not sign with`, kind);
  const der = key.export({ type: 'spki', format: 'der' });
  return { keyId: createHash('sha256').update(der).digest('hex'), key };
}
