// DSSE envelopes and the in-toto statements inside them: the envelope is read to find what was signed (PAE), the
// statement is parsed only after a signature over it held, and must name the image among its subjects.
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { TrustpinError } from '../../errors/index.js';
import { asObject, decodeBase64, fail, parseJsonBounded, shown, text } from './check-util.js';
import type { InTotoStatement } from './types.js';

/** Largest DSSE envelope accepted as a legacy `.att` layer (default 16 MiB; SBOM attestations can be large). */
export const MAX_DSSE_ENVELOPE_BYTES = 16 * 1024 * 1024;
/** Most signatures read from one DSSE envelope (default 16; cosign writes one). */
export const MAX_DSSE_SIGNATURES = 16;
/** Most subjects read from one in-toto statement (default 1024). */
export const MAX_INTOTO_SUBJECTS = 1024;

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** The predicate type of cosign v3's default signature (a DSSE bundle, `cosign sign`). */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/** cosign's `--type` short names → predicate type URIs (cosign `cmd/cosign/cli/options/predicate.go`). */
export const PREDICATE_TYPES: Readonly<Record<string, string>> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

/** A predicate type as the user gave it (a cosign short name or a URI) → the URI compared with statements. */
export function predicateTypeUri(t: string): string {
  return PREDICATE_TYPES[t] ?? t;
}

/** A parsed DSSE envelope: what is signed is PAE(payloadType, payload), not the payload alone. */
export interface DsseEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: { keyid: string; sig: Buffer }[];
}

/** DSSE pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

/** Read a DSSE envelope (a legacy `.att` layer). Malformed or unsigned → SIGNATURE_INVALID (it is the signature container). */
export function parseEnvelope(bytes: Buffer, what: string): DsseEnvelope {
  const o = asObject(parseJsonBounded(bytes, MAX_DSSE_ENVELOPE_BYTES, what, 'SIGNATURE_INVALID'));
  const bad = (why: string, found?: string): TrustpinError =>
    fail('SIGNATURE_INVALID', `${what}: ${why}`, {
      expected: 'a DSSE envelope {"payloadType","payload","signatures":[{"keyid","sig"}]}',
      ...(found !== undefined ? { found } : {}),
      hint: 'the attestation layer is not a DSSE envelope; re-attest the image with cosign attest',
    });
  if (!o) throw bad('is not a JSON object');
  if (typeof o.payloadType !== 'string') throw bad('has no payloadType');
  if (typeof o.payload !== 'string') throw bad('has no payload');
  const payload = decodeBase64(o.payload, `${what} payload`, 'SIGNATURE_INVALID');
  const sigs = o.signatures;
  if (!Array.isArray(sigs)) throw bad('has no signatures list');
  if (sigs.length === 0)
    throw fail('SIGNATURE_INVALID', `${what} carries no signature`, {
      expected: 'at least one DSSE signature',
      found: 'an empty signatures list',
      hint: 're-attest the image',
    });
  if (sigs.length > MAX_DSSE_SIGNATURES)
    throw bad(`has more than ${MAX_DSSE_SIGNATURES} signatures`, `${sigs.length}`);
  const signatures = sigs.map((s, i) => {
    const so = asObject(s);
    if (!so || typeof so.sig !== 'string') throw bad(`signature ${i} has no sig`);
    return {
      keyid: typeof so.keyid === 'string' ? so.keyid : '',
      sig: decodeBase64(so.sig, `${what} signature ${i}`, 'SIGNATURE_INVALID'),
    };
  });
  return { payloadType: o.payloadType, payload, signatures };
}

/** Verify one DSSE signature over PAE under `key` (ECDSA/RSA with SHA-256, Ed25519 pure). */
export function verifyDsse(
  env: Pick<DsseEnvelope, 'payloadType' | 'payload'>,
  sig: Buffer,
  key: KeyObject,
): boolean {
  return verifyBytes(preAuthEncoding(env.payloadType, env.payload), sig, key);
}

/** Verify a signature over `data` as cosign does: SHA-256, ECDSA DER (or IEEE P1363 r‖s), RSA PKCS#1 v1.5, Ed25519. */
export function verifyBytes(data: Buffer, sig: Buffer, key: KeyObject): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') return cryptoVerify(null, data, key, sig);
    if (cryptoVerify('sha256', data, key, sig)) return true;
    if (key.asymmetricKeyType === 'ec')
      return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
    return false;
  } catch {
    return false;
  }
}

/** What the statement check needs from the image being verified. */
export interface StatementContext {
  digest: string;
  predicateType?: string | undefined;
}

/** The outcome of a statement check: the statement, and whether it counts in this mode. */
export interface StatementResult {
  statement: InTotoStatement;
  signedDigest: string;
}

/**
 * Check a verified DSSE payload as an in-toto statement about `ctx.digest`: payloadType, `_type`, a subject whose
 * sha256 is the image digest (SIGNED_DIGEST_MISMATCH), and the predicate type — `ctx.predicateType` in attestation
 * mode, cosign's signature predicate (`https://sigstore.dev/cosign/sign/v1`) in signature mode (PAYLOAD_INVALID).
 * Call only after the signature verified.
 */
export function checkStatement(
  payloadType: string,
  payload: Buffer,
  ctx: StatementContext,
  what: string,
  /** called with the statement once it parsed, before it is checked (the caller learns its predicate type) */
  onParsed?: (s: InTotoStatement) => void,
): StatementResult {
  if (payloadType !== INTOTO_PAYLOAD_TYPE)
    throw fail(
      'PAYLOAD_INVALID',
      `${what} signs a payload of type ${shown(payloadType)}, not an in-toto statement`,
      {
        expected: INTOTO_PAYLOAD_TYPE,
        found: payloadType,
        hint: 'only in-toto attestations are accepted from DSSE envelopes',
      },
    );
  const o = asObject(
    parseJsonBounded(payload, MAX_DSSE_ENVELOPE_BYTES, `${what} statement`, 'PAYLOAD_INVALID'),
  );
  const bad = (why: string, found?: string): TrustpinError =>
    fail('PAYLOAD_INVALID', `${what}: the in-toto statement ${why}`, {
      expected:
        'an in-toto statement {"_type","subject":[{"digest":{"sha256"}}],"predicateType","predicate"}',
      ...(found !== undefined ? { found } : {}),
      hint: 'the signed attestation is malformed; re-attest the image',
    });
  if (!o) throw bad('is not a JSON object');
  const type = o._type;
  if (type !== 'https://in-toto.io/Statement/v0.1' && type !== 'https://in-toto.io/Statement/v1')
    throw bad('has an unknown _type', shown(text(type)));
  if (typeof o.predicateType !== 'string') throw bad('has no predicateType');
  if (!Array.isArray(o.subject) || o.subject.length === 0) throw bad('has no subject');
  if (o.subject.length > MAX_INTOTO_SUBJECTS) throw bad(`has more than ${MAX_INTOTO_SUBJECTS} subjects`);
  const subject = o.subject.map((s, i) => {
    const so = asObject(s);
    const dg = asObject(so?.digest);
    if (!so || !dg) throw bad(`subject ${i} has no digest`);
    const digest: Record<string, string> = {};
    for (const [k, v] of Object.entries(dg)) {
      if (typeof v !== 'string') throw bad(`subject ${i} digest ${shown(k)} is not a string`);
      digest[k] = v;
    }
    return typeof so.name === 'string' ? { name: so.name, digest } : { digest };
  });
  const statement: InTotoStatement = {
    _type: type,
    predicateType: o.predicateType,
    subject,
    ...(o.predicate !== undefined ? { predicate: o.predicate as unknown } : {}),
  };
  onParsed?.(statement);
  // the kind first: an attestation of another type is not evidence either way, whatever its subject
  const wanted =
    ctx.predicateType === undefined ? COSIGN_SIGN_PREDICATE : predicateTypeUri(ctx.predicateType);
  if (statement.predicateType !== wanted)
    throw fail(
      'PAYLOAD_INVALID',
      ctx.predicateType === undefined
        ? `${what} is an attestation (${shown(statement.predicateType)}), not a signature`
        : `${what} attests ${shown(statement.predicateType)}, not the predicate type asked for`,
      {
        expected: wanted,
        found: statement.predicateType,
        hint:
          ctx.predicateType === undefined
            ? 'verify attestations with a predicate type; a signature is a statement of type https://sigstore.dev/cosign/sign/v1'
            : 'choose the predicate type the attestation was made with (cosign attest --type)',
      },
    );
  const want = ctx.digest.replace(/^sha256:/, '');
  const hit = subject.find((s) => s.digest.sha256 === want);
  if (!hit) {
    const found = subject
      .slice(0, 3)
      .map((s) =>
        s.digest.sha256 !== undefined ? `sha256:${s.digest.sha256}` : Object.keys(s.digest).join('+'),
      )
      .join(', ');
    throw fail('SIGNED_DIGEST_MISMATCH', `${what} is a valid attestation about another artifact`, {
      expected: `a subject with sha256 ${want}`,
      found: found + (subject.length > 3 ? `, … (${subject.length} subjects)` : ''),
      hint: 'the attestation was made for another image (or another platform of it); it proves nothing about this one',
    });
  }
  return { statement, signedDigest: `sha256:${hit.digest.sha256}` };
}

/** sha256 of bytes, as raw bytes (for tlog body comparisons). */
export function sha256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}
