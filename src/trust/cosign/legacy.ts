// A legacy cosign layer (`.sig` / `.att` tag: payload blob + signature annotations) as the SignedEntity
// @sigstore/verify checks. The chain annotation is carried as data only: it is never trust material.
import { createHash } from 'node:crypto';
import type { TransparencyLogEntry } from '@sigstore/bundle';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import type { SignedEntity } from '@sigstore/verify';
import { asObject, decodeBase64, fail, type Json, parseJsonBounded, shown, text } from './check-util.js';
import { type DsseEnvelope, parseEnvelope, preAuthEncoding, verifyBytes } from './intoto.js';
import type { SignatureArtifact } from './types.js';

/** Largest value of one cosign layer annotation accepted (signature, certificate, chain, Rekor bundle, TSA; default 128 KiB). */
export const MAX_COSIGN_ANNOTATION_BYTES = 128 * 1024;
/** Most certificates read from a `dev.sigstore.cosign/chain` annotation (default 10). */
export const MAX_CERT_CHAIN_LENGTH = 10;

export const ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
} as const;

type Timestamp = SignedEntity['timestamps'][number];

/** The signing key a transparency-log body names: a certificate or a public key, as DER. */
export interface TlogKey {
  kind: 'certificate' | 'public-key';
  der: Buffer;
}

/** What a cosign layer (or a bundle) carries, ready for @sigstore/verify and our own extra checks. */
export interface SignedMaterial {
  /** one entity per candidate signature (a DSSE envelope may carry several); key is certificate or public-key */
  entities: SignedEntity[];
  /** the leaf certificate (keyless), parsed */
  certificate?: X509Certificate | undefined;
  certificateDer?: Buffer | undefined;
  /** the untrusted chain that came with the leaf (data; BYO-PKI may use it as candidate intermediates) */
  chain: X509Certificate[];
  /** DSSE: the envelope whose payload is parsed after verification */
  envelope?: Pick<DsseEnvelope, 'payloadType' | 'payload'> | undefined;
  /** message signature: the digest the signature covers (bundle) or the payload (legacy) */
  payload?: Buffer | undefined;
}

function annotation(a: Record<string, string>, name: string): string | undefined {
  const v = a[name];
  if (v === undefined || v === '') return undefined;
  if (v.length > MAX_COSIGN_ANNOTATION_BYTES)
    throw fail(
      'SIZE_EXCEEDED',
      `the ${name} annotation is ${v.length} characters, more than ${MAX_COSIGN_ANNOTATION_BYTES}`,
      {
        expected: `at most ${MAX_COSIGN_ANNOTATION_BYTES}`,
        found: `${v.length}`,
        hint: 'no real cosign annotation is this large; this layer was built to exhaust memory',
      },
    );
  return v;
}

/** PEM blocks of a type, as DER. */
export function pemBlocks(text: string, type: string, max: number, what: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${type}-----([A-Za-z0-9+/=\\s]*?)-----END ${type}-----`, 'g');
  const out: Buffer[] = [];
  for (const m of text.matchAll(re)) {
    if (out.length >= max)
      throw fail('CERTIFICATE_INVALID', `${what} holds more than ${max} ${type} blocks`, {
        expected: `at most ${max}`,
        hint: 'the certificate material is malformed or hostile',
      });
    out.push(decodeBase64(m[1]!.replace(/\s/g, ''), what, 'CERTIFICATE_INVALID'));
  }
  return out;
}

function parseCert(der: Buffer, what: string): X509Certificate {
  try {
    return X509Certificate.parse(der as Buffer<ArrayBuffer>);
  } catch (e) {
    throw fail('CERTIFICATE_INVALID', `${what} is not an X.509 certificate`, {
      expected: 'a DER/PEM X.509 certificate',
      found: (e as Error).message,
      hint: 'the signature layer is malformed; re-sign the image',
    });
  }
}

function tlogInvalid(why: string, found?: string) {
  return fail('TLOG_INVALID', `the Rekor bundle annotation ${why}`, {
    expected:
      '{"SignedEntryTimestamp": base64, "Payload": {"body": base64, "integratedTime", "logIndex", "logID": hex}}',
    ...(found !== undefined ? { found } : {}),
    hint: 'the transparency-log proof attached to the signature is malformed; re-sign with cosign (tlog upload on)',
  });
}

function nonNegativeInt(v: Json | undefined): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/** `dev.sigstore.cosign/bundle` (Rekor SET bundle) → a transparency-log entry with an inclusion promise. */
export function rekorBundleEntry(json: string): TransparencyLogEntry {
  const o = asObject(
    parseJsonBounded(
      Buffer.from(json, 'utf8'),
      MAX_COSIGN_ANNOTATION_BYTES,
      'the Rekor bundle annotation',
      'TLOG_INVALID',
    ),
  );
  if (!o) throw tlogInvalid('is not a JSON object');
  const payload = asObject(o.Payload);
  if (typeof o.SignedEntryTimestamp !== 'string' || !payload)
    throw tlogInvalid('lacks SignedEntryTimestamp or Payload');
  const set = decodeBase64(o.SignedEntryTimestamp, 'the Rekor SignedEntryTimestamp', 'TLOG_INVALID');
  if (typeof payload.body !== 'string') throw tlogInvalid('has no Payload.body');
  const body = decodeBase64(payload.body, 'the Rekor entry body', 'TLOG_INVALID');
  if (body.toString('base64') !== payload.body)
    throw tlogInvalid('has a Payload.body that is not canonical base64');
  const integratedTime = nonNegativeInt(payload.integratedTime);
  const logIndex = nonNegativeInt(payload.logIndex);
  if (integratedTime === undefined || logIndex === undefined)
    throw tlogInvalid(
      'has no integer integratedTime/logIndex',
      `${text(payload.integratedTime)}/${text(payload.logIndex)}`,
    );
  if (typeof payload.logID !== 'string' || !/^[0-9a-f]{64}$/.test(payload.logID))
    throw tlogInvalid('has a logID that is not 64 lowercase hex digits', shown(text(payload.logID), 80));
  const kv = bodyKindVersion(body);
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(payload.logID, 'hex') },
    kindVersion: kv,
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: set },
    inclusionProof: undefined,
    canonicalizedBody: body,
  };
}

function bodyJson(body: Buffer): Record<string, Json> {
  const o = asObject(
    parseJsonBounded(body, MAX_COSIGN_ANNOTATION_BYTES, 'the transparency-log entry body', 'TLOG_INVALID'),
  );
  if (!o)
    throw fail('TLOG_INVALID', 'the transparency-log entry body is not a JSON object', {
      hint: 're-sign the image',
    });
  return o;
}

function bodyKindVersion(body: Buffer): { kind: string; version: string } {
  const o = bodyJson(body);
  if (typeof o.kind !== 'string' || typeof o.apiVersion !== 'string')
    throw fail('TLOG_INVALID', 'the transparency-log entry body has no kind/apiVersion', {
      expected: 'a Rekor entry {"apiVersion","kind","spec"}',
      hint: 're-sign the image',
    });
  return { kind: o.kind, version: o.apiVersion };
}

function pemOrDer(b64: Json | undefined, what: string): TlogKey {
  if (typeof b64 !== 'string')
    throw fail('TLOG_INVALID', `the transparency-log entry has no ${what}`, { hint: 're-sign the image' });
  const raw = decodeBase64(b64, what, 'TLOG_INVALID');
  const text = raw.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----'))
    return { kind: 'certificate', der: pemBlocks(text, 'CERTIFICATE', 1, what)[0]! };
  if (text.includes('-----BEGIN PUBLIC KEY-----'))
    return { kind: 'public-key', der: pemBlocks(text, 'PUBLIC KEY', 1, what)[0]! };
  throw fail(
    'TLOG_INVALID',
    `the transparency-log entry's ${what} is neither a certificate nor a public key`,
    {
      hint: 're-sign the image',
    },
  );
}

function derKey(v: Json | undefined, what: string): TlogKey {
  const o = asObject(v);
  const cert = asObject(o?.x509Certificate)?.rawBytes;
  if (typeof cert === 'string') return { kind: 'certificate', der: decodeBase64(cert, what, 'TLOG_INVALID') };
  const pk = asObject(o?.publicKey)?.rawBytes;
  if (typeof pk === 'string') return { kind: 'public-key', der: decodeBase64(pk, what, 'TLOG_INVALID') };
  throw fail('TLOG_INVALID', `the transparency-log entry has no ${what}`, { hint: 're-sign the image' });
}

/**
 * The signing key a Rekor entry body records (hashedrekord 0.0.1/0.0.2, intoto 0.0.1/0.0.2, dsse 0.0.1/0.0.2).
 * @sigstore/verify compares only signature and digest with the body; cosign also compares the key (spec §4.5).
 */
export function tlogBodyKey(entry: TransparencyLogEntry): TlogKey {
  const o = bodyJson(entry.canonicalizedBody);
  const spec = asObject(o.spec);
  const at = (...path: (string | number)[]): Json | undefined => {
    let v: Json | undefined = spec;
    for (const p of path)
      v = typeof p === 'number' ? (Array.isArray(v) ? v[p] : undefined) : asObject(v)?.[p];
    return v;
  };
  const kv = `${text(o.kind)}/${text(o.apiVersion)}`;
  switch (kv) {
    case 'hashedrekord/0.0.1':
      return pemOrDer(at('signature', 'publicKey', 'content'), 'signature public key');
    case 'intoto/0.0.1':
      return pemOrDer(at('publicKey'), 'public key');
    case 'intoto/0.0.2':
      return pemOrDer(
        at('content', 'envelope', 'signatures', 0, 'publicKey'),
        'envelope signature public key',
      );
    case 'dsse/0.0.1':
      return pemOrDer(at('signatures', 0, 'verifier'), 'signature verifier');
    case 'hashedrekord/0.0.2':
      return derKey(at('hashedRekordV002', 'signature', 'verifier'), 'signature verifier');
    case 'dsse/0.0.2':
      return derKey(at('dsseV002', 'signatures', 0, 'verifier'), 'signature verifier');
    default:
      throw fail('TLOG_INVALID', `the transparency-log entry is of kind ${shown(kv)}, which is not checked`, {
        expected: 'hashedrekord, intoto or dsse',
        found: kv,
        hint: 'sign with a current cosign',
      });
  }
}

/** Transparency-log entries that carry a signed time (an inclusion promise with a non-zero integratedTime). */
export function tlogTimestamps(entries: TransparencyLogEntry[]): Timestamp[] {
  return entries
    .filter((e) => e.integratedTime !== '' && e.integratedTime !== '0' && e.inclusionPromise !== undefined)
    .map((tlogEntry) => ({ $case: 'transparency-log', tlogEntry }));
}

function rfc3161(text: string): Timestamp {
  const bad = (found: string) =>
    fail('TIMESTAMP_INVALID', 'the RFC 3161 timestamp annotation is malformed', {
      expected: '{"SignedRFC3161Timestamp": base64 DER TimeStampResp}',
      found,
      hint: 're-sign with cosign --timestamp-server-url',
    });
  const o = asObject(
    parseJsonBounded(
      Buffer.from(text, 'utf8'),
      MAX_COSIGN_ANNOTATION_BYTES,
      'the RFC 3161 timestamp annotation',
      'TIMESTAMP_INVALID',
    ),
  );
  if (typeof o?.SignedRFC3161Timestamp !== 'string') throw bad('no SignedRFC3161Timestamp');
  const der = decodeBase64(o.SignedRFC3161Timestamp, 'the RFC 3161 timestamp', 'TIMESTAMP_INVALID');
  try {
    return { $case: 'timestamp-authority', timestamp: RFC3161Timestamp.parse(der as Buffer<ArrayBuffer>) };
  } catch (e) {
    throw bad((e as Error).message);
  }
}

/** Signature content over raw bytes (simple-signing) or a DSSE PAE, for @sigstore/verify. */
function content(signed: Buffer, signature: Buffer, digestOf: Buffer): SignedEntity['signature'] {
  return {
    signature,
    compareSignature: (s) => s.equals(signature),
    compareDigest: (d) => d.equals(digestOf),
    verifySignature: (key) => verifyBytes(signed, signature, key),
  };
}

/**
 * Map a legacy layer to what @sigstore/verify checks (wave2 §A.2): the blob is what was signed (simple-signing)
 * or a DSSE envelope (attestation, signed over PAE); the certificate annotation is the key (else a public key
 * found by the caller); the Rekor bundle annotation becomes a tlog entry with its SET, and a timestamp; the
 * RFC 3161 annotation a TSA timestamp. Malformed annotations are coded failures.
 */
export function legacyMaterial(a: SignatureArtifact): SignedMaterial {
  const ann = a.annotations ?? {};
  const certPem = annotation(ann, ANNOTATION.certificate);
  const chainPem = annotation(ann, ANNOTATION.chain);
  const bundle = annotation(ann, ANNOTATION.bundle);
  const tsa = annotation(ann, ANNOTATION.timestamp);
  let certificate: X509Certificate | undefined;
  let certificateDer: Buffer | undefined;
  if (certPem !== undefined) {
    const blocks = pemBlocks(certPem, 'CERTIFICATE', 1, 'the certificate annotation');
    if (blocks.length !== 1)
      throw fail('CERTIFICATE_INVALID', 'the certificate annotation holds no PEM certificate', {
        expected: 'one -----BEGIN CERTIFICATE----- block',
        found: shown(certPem, 60),
        hint: 'the signature layer is malformed; re-sign the image',
      });
    certificateDer = blocks[0]!;
    certificate = parseCert(certificateDer, 'the certificate annotation');
  }
  const chain =
    chainPem === undefined
      ? []
      : pemBlocks(chainPem, 'CERTIFICATE', MAX_CERT_CHAIN_LENGTH, 'the chain annotation').map((d, i) =>
          parseCert(d, `certificate ${i} of the chain annotation`),
        );
  const tlogEntries = bundle === undefined ? [] : [rekorBundleEntry(bundle)];
  const timestamps: Timestamp[] = [
    ...tlogTimestamps(tlogEntries),
    ...(tsa === undefined ? [] : [rfc3161(tsa)]),
  ];
  const key: SignedEntity['key'] = certificate
    ? { $case: 'certificate', certificate }
    : { $case: 'public-key', hint: '' };
  const entity = (signature: SignedEntity['signature']): SignedEntity => ({
    signature,
    key,
    tlogEntries,
    timestamps,
  });
  if (a.format === 'legacy-attestation') {
    const env = parseEnvelope(a.bytes, 'the attestation layer (DSSE envelope)');
    const pae = preAuthEncoding(env.payloadType, env.payload);
    const digest = createHash('sha256').update(env.payload).digest();
    return {
      entities: env.signatures.map((s) => entity(content(pae, s.sig, digest))),
      certificate,
      certificateDer,
      chain,
      envelope: env,
    };
  }
  const sigText = annotation(ann, ANNOTATION.signature);
  if (sigText === undefined)
    throw fail('SIGNATURE_INVALID', `the layer has no ${ANNOTATION.signature} annotation`, {
      expected: 'a base64 signature in the layer annotation',
      found: 'none',
      hint: 'this layer is not a cosign signature',
    });
  const sig = decodeBase64(sigText, 'the signature annotation', 'SIGNATURE_INVALID');
  const digest = createHash('sha256').update(a.bytes).digest();
  return {
    entities: [entity(content(a.bytes, sig, digest))],
    certificate,
    certificateDer,
    chain,
    payload: a.bytes,
  };
}
