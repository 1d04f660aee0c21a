// Notation's two signature envelopes, opened and their integrity proven (NSPEC signature-envelope-jws.md and
// signature-envelope-cose.md; notation-core-go signature/{jws,cose}): the certificate chain's structure, `alg`
// bound to the leaf key, the signature over the signed bytes, then every protected header — each critical header
// understood (else the envelope is refused), the signing scheme, signing time and expiry. The payload is returned
// as signed bytes; nothing in an unprotected header (chain, timestamp, agent) is trusted by being there.
import { constants, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { decode, Tag } from 'cbor2';
import { TrustpinError } from '../../errors/index.js';
import {
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  NOTATION_PAYLOAD_MEDIA_TYPE,
  type SignedEnvelope,
} from './types.js';
import {
  algorithmOfKey,
  type Certificate,
  MAX_NOTATION_CERT_CHAIN,
  parseCertificate,
  validateChain,
} from './x509.js';

/** An envelope whose integrity held, with its chain parsed. */
export type OpenedEnvelope = SignedEnvelope & { certificates: Certificate[] };

/** Largest envelope read (notation-go allows 32 MiB; a real one is a few KiB: a chain and a timestamp). */
export const MAX_NOTATION_ENVELOPE_BYTES = 4 * 1024 * 1024;

const H = {
  scheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  plugin: 'io.cncf.notary.verificationPlugin',
  pluginMin: 'io.cncf.notary.verificationPluginMinVersion',
  timestamp: 'io.cncf.notary.timestampSignature',
  agent: 'io.cncf.notary.signingAgent',
} as const;

/** Headers a signature may mark critical: the ones this verifier understands. */
const KNOWN_CRITICAL = new Set<string>([
  H.scheme,
  H.signingTime,
  H.authenticSigningTime,
  H.expiry,
  H.plugin,
  H.pluginMin,
]);
/** Headers that must be listed in `crit` whenever present. */
const MUST_BE_CRITICAL = [H.scheme, H.authenticSigningTime, H.expiry, H.plugin, H.pluginMin];

const COSE_ALG: Record<number, string> = {
  [-37]: 'PS256',
  [-38]: 'PS384',
  [-39]: 'PS512',
  [-7]: 'ES256',
  [-35]: 'ES384',
  [-36]: 'ES512',
};

function bad(
  message: string,
  details: { expected?: string; found?: string; hint?: string } = {},
): TrustpinError {
  return new TrustpinError('ENVELOPE_INVALID', message, details);
}

/** The envelope's format from its bytes: `{` is JWS JSON, a CBOR tag 18 (0xd2) is COSE_Sign1. */
function sniff(bytes: Buffer): 'jws' | 'cose' | undefined {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first === 0x7b) return 'jws';
  if (bytes[0] === 0xd2) return 'cose';
  return undefined;
}

/**
 * Open an envelope and prove its integrity: the chain is well formed (leaf … self-signed root, the profile's
 * rules), `alg` is the leaf key's, the signature verifies, every protected header is understood.
 * @throws TrustpinError ENVELOPE_INVALID (malformed, media type not its bytes, unknown critical header, alg not
 *   the key's), SIGNATURE_INVALID (the signature does not verify), CERTIFICATE_INVALID (chain rules)
 */
export function openEnvelope(bytes: Buffer, mediaType: string): OpenedEnvelope {
  if (bytes.length > MAX_NOTATION_ENVELOPE_BYTES)
    throw new TrustpinError('SIZE_EXCEEDED', `the signature envelope is ${bytes.length} bytes`, {
      expected: `at most ${MAX_NOTATION_ENVELOPE_BYTES} bytes`,
    });
  const format =
    mediaType === NOTATION_JWS_MEDIA_TYPE
      ? 'jws'
      : mediaType === NOTATION_COSE_MEDIA_TYPE
        ? 'cose'
        : undefined;
  if (!format)
    throw bad(`${JSON.stringify(mediaType)} is not a Notation envelope type`, {
      expected: `${NOTATION_JWS_MEDIA_TYPE} or ${NOTATION_COSE_MEDIA_TYPE}`,
      found: mediaType,
    });
  const actual = sniff(bytes);
  if (actual !== format)
    throw bad(
      `the envelope is declared ${mediaType} but its bytes are ${actual === 'jws' ? 'JSON (JWS)' : actual === 'cose' ? 'CBOR (COSE)' : 'neither JWS nor COSE'}`,
      {
        expected: format === 'jws' ? 'a JWS JSON object' : 'a COSE_Sign1_Tagged CBOR value',
        found: actual ?? `bytes starting 0x${bytes.subarray(0, 4).toString('hex')}`,
        hint: "the signature manifest's layer media type must match the envelope it holds",
      },
    );
  return format === 'jws' ? openJws(bytes) : openCose(bytes);
}

// ---- JWS ----

const B64URL = /^[A-Za-z0-9_-]*$/;

function base64url(s: unknown, what: string): Buffer {
  if (typeof s !== 'string' || !B64URL.test(s) || s.length % 4 === 1)
    throw bad(`the JWS ${what} is not unpadded base64url`, {
      expected: 'base64url (RFC 7515), no padding',
      found: typeof s === 'string' ? `${s.length} characters` : typeof s,
    });
  return Buffer.from(s, 'base64url');
}

/** Standard base64 with padding, checked in one linear pass (Go's encoding/json for []byte). */
function base64std(s: unknown, what: string): Buffer {
  if (typeof s !== 'string' || s.length % 4 !== 0)
    throw bad(`${what} is not base64`, { expected: 'standard base64 with padding' });
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      (c >= 48 && c <= 57) ||
      c === 43 ||
      c === 47 ||
      (c === 61 && i >= s.length - 2 && (i === s.length - 1 || s.charCodeAt(s.length - 1) === 61));
    if (!ok)
      throw bad(`${what} is not base64`, {
        expected: 'standard base64 with padding',
        found: `character ${i}`,
      });
  }
  return Buffer.from(s, 'base64');
}

/** A value from a hostile header, for a message: never throws (a JSON object may carry its own `toString`). */
function show(v: unknown): string {
  if (typeof v === 'string') return v.slice(0, 128);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v == null) return `${v}`;
  try {
    return (JSON.stringify(v) ?? typeof v).slice(0, 128);
  } catch {
    return typeof v;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's encoding/json matches object keys to fields case-insensitively, the last match winning. */
function field(o: Record<string, unknown>, name: string): unknown {
  let out: unknown;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === lower) out = v;
  return out;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/;

/** An RFC 3339 time as Go's `time.Parse(time.RFC3339, …)` reads it: out-of-range fields are refused, not rolled over. */
function rfc3339(v: string): Date | undefined {
  const m = RFC3339.exec(v);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || sec > 59) return undefined;
  if (m[9] && (Number(m[10]) > 23 || Number(m[11]) > 59)) return undefined;
  return new Date(v);
}

/** A signed time: an RFC 3339 string in JWS, a tag-1 epoch time in COSE (notation-core-go reads no other form). */
function time(v: unknown, name: string, format: 'jws' | 'cose'): Date {
  const d =
    format === 'jws' ? (typeof v === 'string' ? rfc3339(v) : undefined) : v instanceof Date ? v : undefined;
  if (!d || Number.isNaN(d.getTime()))
    throw bad(`the protected header ${name} is not a time`, {
      expected: format === 'jws' ? 'an RFC 3339 time' : 'a CBOR epoch time (tag 1)',
      found: typeof v === 'string' ? v.slice(0, 64) : typeof v,
    });
  return d;
}

function openJws(bytes: Buffer): OpenedEnvelope {
  let env: unknown;
  try {
    env = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw bad(`the JWS envelope is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(env))
    throw bad('the JWS envelope is not a JSON object', { expected: 'flattened JWS JSON serialization' });
  if ('signatures' in env)
    throw bad('the JWS envelope uses the general serialization', {
      expected: 'the flattened JSON serialization (one signature)',
    });
  const protectedB64 = env.protected;
  const payloadB64 = env.payload;
  const protectedBytes = base64url(protectedB64, 'protected header');
  const payload = base64url(payloadB64, 'payload');
  const signature = base64url(env.signature, 'signature');
  const header = env.header === undefined ? {} : env.header;
  if (!isObject(header)) throw bad('the JWS unprotected header is not an object');
  let ph: unknown;
  try {
    ph = JSON.parse(protectedBytes.toString('utf8'));
  } catch (e) {
    throw bad(`the JWS protected header is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(ph)) throw bad('the JWS protected header is not a JSON object');
  const x5c = field(header, 'x5c');
  if (!Array.isArray(x5c) || x5c.length === 0)
    throw bad('the JWS envelope carries no certificate chain', {
      expected: 'header.x5c: the chain, leaf first',
    });
  const chain = certificates(x5c.map((c, i) => base64std(c, `x5c[${i}]`)));
  const alg = ph.alg;
  if (typeof alg !== 'string') throw bad('the JWS protected header has no alg');
  checkSignature(
    chain[0]!,
    alg,
    Buffer.from(`${protectedB64 as string}.${payloadB64 as string}`, 'ascii'),
    signature,
  );
  const crit = ph.crit;
  if (!Array.isArray(crit) || crit.some((c) => typeof c !== 'string'))
    throw bad('the JWS protected header has no crit list', { expected: `crit: [${H.scheme}, …]` });
  const ts = field(header, H.timestamp);
  const agent = field(header, H.agent);
  return signedParts({
    format: 'jws',
    alg,
    cty: ph.cty,
    crit: crit as string[],
    get: (n) => ph[n],
    has: (n) => n in ph,
    chain,
    payload,
    signature,
    timestampToken: ts === undefined || ts === '' ? undefined : base64std(ts, `the ${H.timestamp} header`),
    signingAgent: typeof agent === 'string' ? agent : undefined,
  });
}

// ---- COSE ----

function bstr(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/** cbor2's tag decoders with tag 0 (RFC 3339 string date) left as a Tag, so it never reads as a time. */
const KEEP_TAG0 = new Map([[0, (t: unknown) => t]]) as unknown as NonNullable<
  NonNullable<Parameters<typeof decode>[1]>['tags']
>;

function cbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes, {
      preferMap: true,
      rejectDuplicateKeys: true,
      rejectStreaming: true,
      maxDepth: 16,
      // tag 0 (a date string) stays a Tag: only tag 1 (epoch) is a time in a Notation COSE envelope
      tags: KEEP_TAG0,
    });
  } catch (e) {
    throw bad(`${what} is not valid CBOR: ${(e as Error).message}`);
  }
}

/** CBOR head of major type `major` with length `n`. */
function head(major: number, n: number): Buffer {
  const m = major << 5;
  if (n < 24) return Buffer.from([m | n]);
  if (n < 0x100) return Buffer.from([m | 24, n]);
  if (n < 0x10000) return Buffer.from([m | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = m | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Sig_structure = ["Signature1", body_protected, external_aad = h'', payload] (RFC 9052 §4.4), encoded exactly. */
function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Buffer {
  const ctx = Buffer.from('Signature1');
  return Buffer.concat([
    Buffer.from([0x84]),
    head(3, ctx.length),
    ctx,
    head(2, protectedBytes.length),
    protectedBytes,
    Buffer.from([0x40]),
    head(2, payload.length),
    payload,
  ]);
}

function openCose(bytes: Buffer): OpenedEnvelope {
  const t = cbor(bytes, 'the COSE envelope');
  if (!(t instanceof Tag) || Number(t.tag) !== 18 || !Array.isArray(t.contents) || t.contents.length !== 4)
    throw bad('the COSE envelope is not a COSE_Sign1_Tagged message', {
      expected: 'tag 18 [protected, unprotected, payload, signature]',
    });
  const [protectedBytes, unprotected, payload, signature] = t.contents as unknown[];
  if (!bstr(protectedBytes) || !(unprotected instanceof Map) || !bstr(signature))
    throw bad('the COSE_Sign1 message has fields of the wrong types', {
      expected: '[bstr, map, bstr, bstr]',
    });
  if (!bstr(payload))
    throw bad('the COSE_Sign1 payload is detached or not a byte string', { expected: 'an attached payload' });
  const ph = cbor(protectedBytes, 'the COSE protected header');
  if (!(ph instanceof Map)) throw bad('the COSE protected header is not a map');
  const x5 = ph.has(33) ? ph.get(33) : unprotected.get(33);
  const list = bstr(x5)
    ? [x5]
    : Array.isArray(x5) && x5.length > 0 && x5.every(bstr)
      ? (x5 as Uint8Array[])
      : undefined;
  if (!list)
    throw bad('the COSE envelope carries no certificate chain', {
      expected: 'x5chain (label 33): the chain, leaf first',
    });
  const chain = certificates(list.map((c) => Buffer.from(c)));
  const algId = ph.get(1);
  const alg = typeof algId === 'number' ? COSE_ALG[algId] : undefined;
  if (!alg)
    throw bad('the COSE algorithm is not one Notation allows', {
      expected: 'PS256/384/512 (-37/-38/-39) or ES256/384/512 (-7/-35/-36)',
      found: show(algId),
    });
  checkSignature(chain[0]!, alg, sigStructure(protectedBytes, payload), Buffer.from(signature));
  const crit = ph.get(2);
  if (!Array.isArray(crit))
    throw bad('the COSE protected header has no crit list', { expected: `crit (label 2): [${H.scheme}, …]` });
  if (crit.some((c) => typeof c !== 'string' && typeof c !== 'number'))
    throw bad('the COSE crit list holds something that is not a label');
  const ts = unprotected.get(H.timestamp);
  if (ts !== undefined && !bstr(ts)) throw bad(`the COSE ${H.timestamp} header is not a byte string`);
  const agent = unprotected.get(H.agent);
  return signedParts({
    format: 'cose',
    alg,
    cty: ph.get(3),
    crit: crit as (string | number)[],
    get: (n) => ph.get(n),
    has: (n) => ph.has(n),
    chain,
    payload: Buffer.from(payload),
    signature: Buffer.from(signature),
    timestampToken: ts && ts.length ? Buffer.from(ts) : undefined,
    signingAgent: typeof agent === 'string' ? agent : undefined,
  });
}

// ---- shared ----

function certificates(ders: Buffer[]): Certificate[] {
  if (ders.length > MAX_NOTATION_CERT_CHAIN)
    throw bad(`the envelope carries ${ders.length} certificates`, {
      expected: `at most ${MAX_NOTATION_CERT_CHAIN}`,
    });
  const chain = ders.map((d, i) => parseCertificate(d, `certificate ${i + 1} of the envelope's chain`));
  validateChain(chain, 'codeSigning');
  return chain;
}

function checkSignature(leaf: Certificate, alg: string, data: Buffer, signature: Buffer): void {
  const keyAlg = algorithmOfKey(leaf.publicKey);
  if (alg !== keyAlg)
    throw bad(
      `the envelope says it is signed with ${alg}, but the signing certificate's key signs with ${keyAlg}`,
      {
        expected: `${keyAlg} (from the ${leaf.publicKey.asymmetricKeyType} key of ${leaf.subject})`,
        found: alg,
        hint: "an envelope whose algorithm is not its key's is refused: the algorithm is bound to the leaf key",
      },
    );
  if (!verifyWith(leaf.publicKey, alg, data, signature))
    throw new TrustpinError(
      'SIGNATURE_INVALID',
      `the signature does not verify under the key of ${leaf.subject}`,
      {
        expected: `a ${alg} signature by ${leaf.subject} over the envelope's signed bytes`,
        hint: "the envelope was altered, or signed by another key than its certificate's",
      },
    );
}

function verifyWith(key: KeyObject, alg: string, data: Buffer, sig: Buffer): boolean {
  const hash = `sha${alg.slice(2)}`;
  try {
    if (alg.startsWith('PS'))
      return cryptoVerify(
        hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 },
        sig,
      );
    return cryptoVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

interface Parts {
  format: 'jws' | 'cose';
  alg: string;
  cty: unknown;
  crit: (string | number)[];
  get(name: string): unknown;
  has(name: string): boolean;
  chain: Certificate[];
  payload: Buffer;
  signature: Buffer;
  timestampToken: Buffer | undefined;
  signingAgent: string | undefined;
}

/** The protected headers, checked after the signature held: crit, content type, scheme, times. */
function signedParts(p: Parts): OpenedEnvelope {
  if (p.crit.length === 0) throw bad('the crit list is empty', { expected: `crit containing ${H.scheme}` });
  if (new Set(p.crit).size !== p.crit.length) throw bad('the crit list repeats a header');
  for (const c of p.crit) {
    if (!KNOWN_CRITICAL.has(show(c)) || typeof c !== 'string')
      throw bad(
        `the signature marks the header ${JSON.stringify(c)} critical, and trustpin does not understand it`,
        {
          expected: `critical headers among ${[...KNOWN_CRITICAL].join(', ')}`,
          found: show(c),
          hint: 'a verifier must refuse a signature with a critical header it does not understand (NSPEC)',
        },
      );
    if (!p.has(show(c))) throw bad(`the crit list names ${c}, which is not in the protected header`);
  }
  for (const name of MUST_BE_CRITICAL)
    if (p.has(name) && !p.crit.includes(name))
      throw bad(`the protected header ${name} is not listed as critical`, {
        expected: `crit containing ${name}`,
      });
  if (p.cty !== NOTATION_PAYLOAD_MEDIA_TYPE)
    throw bad('the signed payload is not a Notation payload', {
      expected: NOTATION_PAYLOAD_MEDIA_TYPE,
      found: show(p.cty),
    });
  const scheme = p.get(H.scheme);
  if (scheme !== 'notary.x509' && scheme !== 'notary.x509.signingAuthority')
    throw bad('the signing scheme is not one Notation defines', {
      expected: 'notary.x509 or notary.x509.signingAuthority',
      found: show(scheme),
    });
  const timeName = scheme === 'notary.x509' ? H.signingTime : H.authenticSigningTime;
  if (!p.has(timeName))
    throw bad(`the ${scheme} signature has no ${timeName}`, { expected: `protected header ${timeName}` });
  const signingTime = time(p.get(timeName), timeName, p.format);
  const expiry = p.has(H.expiry) ? time(p.get(H.expiry), H.expiry, p.format) : undefined;
  if (expiry && expiry <= signingTime)
    throw bad('the signature expires before it was made', {
      expected: `expiry after ${signingTime.toISOString()}`,
      found: expiry.toISOString(),
    });
  const plugin = p.get(H.plugin);
  if (p.has(H.plugin))
    throw bad(`the signature requires the verification plugin ${JSON.stringify(show(plugin))}`, {
      expected: 'a signature verifiable without plugins',
      found: `${H.plugin}: ${show(plugin)}`,
      hint: 'trustpin runs no Notation plugins; verify such signatures with notation and the plugin',
    });
  return {
    format: p.format,
    signingScheme: scheme,
    algorithm: p.alg,
    signingTime,
    expiry,
    chain: p.chain.map((c) => c.der),
    certificates: p.chain,
    payload: p.payload,
    signature: p.signature,
    timestampToken: p.timestampToken,
    signingAgent: p.signingAgent,
  };
}
