// X.509 as the Notary Project specification states it (NSPEC signature-specification "Certificate Requirements";
// notation-core-go x509/codesigning_cert_validations.go and timestamp_cert_validations.go): a chain is ordered
// leaf → root, each certificate signed by the next and naming it as issuer, ending in a self-signed root; CA
// certificates have basicConstraints cA=true (path length honoured) and keyUsage keyCertSign; a code-signing leaf
// has a critical keyUsage of digitalSignature only, is not a CA, and its extendedKeyUsage (if present) holds
// codeSigning and none of serverAuth, clientAuth, emailProtection, timeStamping, OCSPSigning or any; a TSA leaf has
// exactly one, critical, EKU: timeStamping. RSA 2048/3072/4096 and EC P-256/384/521 keys only; no SHA-1 or MD5.
// Parsing uses asn1js (extensions, raw names) and node:crypto (names, keys, signatures).
import { createHash, type KeyObject, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { TrustpinError } from '../../errors/index.js';

/** Most certificates in one signature's chain (notation has no limit; real chains hold 2–4). */
export const MAX_NOTATION_CERT_CHAIN = 10;
/** Largest certificate accepted, DER bytes. */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;

const OID = {
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  certificatePolicies: '2.5.29.32',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;

/** EKUs a code-signing leaf must not carry (notation-core-go `validateCodeSigningExtendedKeyUsage`, plus any). */
const EXCLUDED_CODE_SIGNING_EKUS: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

/** Extensions a verifier may see marked critical; any other critical extension makes the certificate unusable. */
const UNDERSTOOD_CRITICAL = new Set<string>([
  OID.keyUsage,
  OID.basicConstraints,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.subjectKeyId,
  OID.authorityKeyId,
  OID.certificatePolicies,
]);

/** Signature algorithms refused in any certificate of a chain. */
const WEAK_SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
};

/** keyUsage bits, as Go's x509.KeyUsage numbers them. */
export const KEY_USAGE = {
  digitalSignature: 1 << 0,
  contentCommitment: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

/** A certificate, parsed once: what the chain rules and the verdict need. */
export interface Certificate {
  /** the certificate's bytes (shared by every parse of the same certificate: never mutate) */
  der: Buffer;
  /** RFC 4514 order, most specific first, as notation prints it: `CN=…,O=…,L=…,ST=…,C=…` */
  subject: string;
  issuer: string;
  /** the DER of the subject and issuer names, compared byte for byte (Go's RawSubject/RawIssuer) */
  rawSubject: Buffer;
  rawIssuer: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, lower-case hex */
  fingerprint: string;
  basicConstraints?: { ca: boolean; pathLen?: number | undefined; critical: boolean } | undefined;
  keyUsage?: { bits: number; critical: boolean } | undefined;
  extKeyUsage?: { oids: string[]; critical: boolean } | undefined;
  /** OIDs of critical extensions this verifier does not understand */
  unknownCritical: string[];
  signatureAlgorithm: string;
  /** the X.509 version field: 0 = v1 … 2 = v3 */
  version: number;
  publicKey: KeyObject;
  x509: X509Certificate;
}

function invalid(message: string, details: { expected?: string; found?: string; hint?: string } = {}) {
  return new TrustpinError('CERTIFICATE_INVALID', message, details);
}

/** `C=US\nST=WA\nO=Acme\nCN=x` (node) → `CN=x,O=Acme,ST=WA,C=US` (RFC 4514 order, as Go prints a pkix.Name). */
function rfc4514(nodeName: string): string {
  return nodeName.split('\n').filter(Boolean).reverse().join(',');
}

/** Parsed certificates remembered by their SHA-256 (a signer's chain repeats on every image it signs). */
export const MAX_PARSED_CERTIFICATE_CACHE = 1024;
const parsed = new Map<string, Certificate>();

/**
 * Parse a DER certificate (a certificate seen before comes from a bounded cache keyed by its SHA-256: the parse
 * is a pure function of the bytes). @throws TrustpinError CERTIFICATE_INVALID when it does not parse, is over
 * {@link MAX_CERTIFICATE_BYTES}, or has trailing bytes.
 */
export function parseCertificate(der: Buffer, what: string): Certificate {
  if (der.length > MAX_CERTIFICATE_BYTES)
    throw invalid(`${what} is ${der.length} bytes`, { expected: `at most ${MAX_CERTIFICATE_BYTES} bytes` });
  const fingerprint = createHash('sha256').update(der).digest('hex');
  const hit = parsed.get(fingerprint);
  if (hit) return hit;
  const c = parseUncached(der, what, fingerprint);
  if (parsed.size >= MAX_PARSED_CERTIFICATE_CACHE) parsed.clear();
  parsed.set(fingerprint, c);
  return c;
}

/** The children of a constructed ASN.1 value (SEQUENCE, or an explicit context tag). */
export function kids(v: asn1js.AsnType | undefined): asn1js.AsnType[] {
  const val = (v as { valueBlock?: { value?: unknown } } | undefined)?.valueBlock?.value;
  if (!Array.isArray(val)) throw new Error('expected a constructed value');
  return val as asn1js.AsnType[];
}

/** A Buffer's bytes as the ArrayBuffer asn1js and pkijs read. */
export function arrayBufferOf(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function der1(bytes: Uint8Array): asn1js.AsnType {
  const asn = asn1js.fromBER(arrayBufferOf(bytes));
  if (asn.offset === -1 || asn.offset !== bytes.byteLength) throw new Error('not one DER value');
  return asn.result;
}

function oidOf(v: asn1js.AsnType | undefined): string {
  if (!(v instanceof asn1js.ObjectIdentifier)) throw new Error('expected an OBJECT IDENTIFIER');
  return v.valueBlock.toString();
}

function timeOf(v: asn1js.AsnType | undefined): Date {
  if (v instanceof asn1js.UTCTime || v instanceof asn1js.GeneralizedTime) return v.toDate();
  throw new Error('expected a UTCTime or GeneralizedTime');
}

/**
 * The fields the chain rules need, read with asn1js (RFC 5280 §4.1): the raw names, validity, signature algorithm
 * and the basicConstraints / keyUsage / extendedKeyUsage extensions; node:crypto parses the rest (names, key).
 */
function parseUncached(der: Buffer, what: string, fingerprint: string): Certificate {
  let c: Certificate;
  try {
    const x = new X509Certificate(der);
    const [tbs, sigAlg] = kids(der1(der));
    const f = kids(tbs);
    const off = f[0]?.idBlock.tagClass === 3 && f[0].idBlock.tagNumber === 0 ? 1 : 0;
    const validity = kids(f[off + 3]);
    c = {
      der: Buffer.from(der),
      subject: rfc4514(x.subject),
      issuer: rfc4514(x.issuer),
      rawIssuer: Buffer.from(f[off + 2]!.valueBeforeDecodeView),
      rawSubject: Buffer.from(f[off + 4]!.valueBeforeDecodeView),
      notBefore: timeOf(validity[0]),
      notAfter: timeOf(validity[1]),
      fingerprint,
      unknownCritical: [],
      signatureAlgorithm: oidOf(kids(sigAlg)[0]),
      version: off ? ((kids(f[0])[0] as asn1js.Integer | undefined)?.valueBlock.valueDec ?? 0) : 0,
      publicKey: x.publicKey,
      x509: x,
    };
    const extTag = f.slice(off + 6).find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 3);
    const seen = new Set<string>();
    for (const e of extTag ? kids(kids(extTag)[0]) : []) {
      const parts = kids(e);
      const id = oidOf(parts[0]);
      if (seen.has(id)) throw new Error(`the extension ${id} is repeated`);
      seen.add(id);
      const critical = parts[1] instanceof asn1js.Boolean ? parts[1].valueBlock.value === true : false;
      const octets = parts[parts.length - 1];
      if (!(octets instanceof asn1js.OctetString)) throw new Error(`the extension ${id} has no value`);
      if (critical && !UNDERSTOOD_CRITICAL.has(id)) c.unknownCritical.push(id);
      const value = () => der1(octets.valueBlock.valueHexView);
      if (id === OID.basicConstraints) {
        const bc = kids(value());
        const ca = bc[0] instanceof asn1js.Boolean ? bc[0].valueBlock.value === true : false;
        const pl = bc.find((v) => v instanceof asn1js.Integer) as asn1js.Integer | undefined;
        c.basicConstraints = { ca, pathLen: pl ? pl.valueBlock.valueDec : undefined, critical };
      } else if (id === OID.keyUsage) {
        const v = value();
        if (!(v instanceof asn1js.BitString)) throw new Error('keyUsage is not a BIT STRING');
        const bytes = v.valueBlock.valueHexView;
        let bits = 0;
        for (let i = 0; i < 9; i++) if ((bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) bits |= 1 << i;
        c.keyUsage = { bits, critical };
      } else if (id === OID.extKeyUsage) {
        c.extKeyUsage = { oids: kids(value()).map(oidOf), critical };
      }
    }
  } catch (e) {
    throw invalid(`${what} is not a usable X.509 certificate: ${(e as Error).message}`, {
      expected: 'a DER-encoded X.509 certificate',
    });
  }
  return c;
}

/** The JOSE algorithm a leaf key signs with (notation-core-go `ExtractKeySpec`), or undefined if unsupported. */
export function algorithmOfKey(key: KeyObject): string | undefined {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa')
    return { 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' }[d?.modulusLength ?? 0];
  if (key.asymmetricKeyType === 'ec')
    return { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[d?.namedCurve ?? ''];
  return undefined;
}

function keyProblem(c: Certificate): string | undefined {
  if (algorithmOfKey(c.publicKey) !== undefined) return undefined;
  const d = c.publicKey.asymmetricKeyDetails;
  return `${c.publicKey.asymmetricKeyType ?? 'unknown'} key${d?.modulusLength ? ` of ${d.modulusLength} bits` : d?.namedCurve ? ` on ${d.namedCurve}` : ''}`;
}

/** `child` names `parent` as issuer (raw names equal) and carries a signature `parent`'s key verifies. */
/**
 * Issuer signatures that verified, by the two certificates' SHA-256: a signer's chain is checked again on every
 * image it signs, and each check is an RSA or ECDSA verification per link. The answer is a pure function of the
 * two certificates' bytes; only successes are kept (a bad link is verified, and refused, again).
 */
const MAX_VERIFIED_LINKS = 4096;
const verifiedLinks = new Set<string>();

function issuedBy(child: Certificate, parent: Certificate): boolean {
  if (!child.rawIssuer.equals(parent.rawSubject)) return false;
  const link = `${child.fingerprint}\0${parent.fingerprint}`;
  if (verifiedLinks.has(link)) return true;
  let ok: boolean;
  try {
    ok = child.x509.verify(parent.publicKey);
  } catch {
    ok = false;
  }
  if (ok) {
    if (verifiedLinks.size >= MAX_VERIFIED_LINKS) verifiedLinks.clear();
    verifiedLinks.add(link);
  }
  return ok;
}

function isSelfSigned(c: Certificate): boolean {
  return issuedBy(c, c);
}

/** What a chain is checked for: a code-signing certificate (the signature) or a timestamping one (the TSA). */
export type ChainPurpose = 'codeSigning' | 'timeStamping';

function leafRules(c: Certificate, purpose: ChainPurpose): void {
  const who = `the ${purpose === 'codeSigning' ? 'signing' : 'timestamping'} certificate ${c.subject}`;
  if (c.basicConstraints?.ca)
    throw invalid(`${who} is a CA certificate, used as a leaf`, {
      expected: 'basicConstraints absent or cA=false on the leaf',
      found: 'cA=true',
      hint: 'sign with an end-entity certificate issued by the CA, not with the CA itself',
    });
  if (!c.keyUsage)
    throw invalid(`${who} has no keyUsage extension`, { expected: 'keyUsage (critical): digitalSignature' });
  if (purpose === 'codeSigning' && !c.keyUsage.critical)
    throw invalid(`${who}: its keyUsage extension is not marked critical`, { expected: 'critical keyUsage' });
  if (!(c.keyUsage.bits & KEY_USAGE.digitalSignature))
    throw invalid(`${who} may not make digital signatures`, {
      expected: 'keyUsage digitalSignature',
      found: keyUsageNames(c.keyUsage.bits),
    });
  const extra = c.keyUsage.bits & ~(KEY_USAGE.digitalSignature | KEY_USAGE.contentCommitment);
  if (extra)
    throw invalid(`${who} has key usages beyond digital signature`, {
      expected: 'keyUsage digitalSignature only',
      found: keyUsageNames(c.keyUsage.bits),
    });
  if (purpose === 'codeSigning') {
    const eku = c.extKeyUsage?.oids;
    if (eku) {
      const bad = eku.filter((o) => EXCLUDED_CODE_SIGNING_EKUS[o]).map((o) => EXCLUDED_CODE_SIGNING_EKUS[o]);
      if (bad.length || !eku.includes(OID.codeSigning))
        throw invalid(`${who} is not a code-signing certificate`, {
          expected:
            'extendedKeyUsage absent, or containing codeSigning and none of serverAuth, clientAuth, emailProtection, timeStamping, OCSPSigning, any',
          found: `extendedKeyUsage ${eku.map((o) => EXCLUDED_CODE_SIGNING_EKUS[o] ?? (o === OID.codeSigning ? 'codeSigning' : o)).join(', ')}`,
          hint: 'the signing certificate must be issued for code signing',
        });
    }
  } else {
    const eku = c.extKeyUsage;
    if (!eku || eku.oids.length !== 1 || eku.oids[0] !== OID.timeStamping || !eku.critical)
      throw invalid(`${who} is not a timestamping certificate`, {
        expected: 'exactly one extendedKeyUsage, timeStamping, marked critical',
        found: eku
          ? `${eku.oids.join(', ')}${eku.critical ? ' (critical)' : ' (not critical)'}`
          : 'no extendedKeyUsage',
      });
  }
  const k = keyProblem(c);
  if (k)
    throw invalid(`${who} has an unsupported ${k}`, {
      expected: 'RSA 2048/3072/4096 or EC P-256/P-384/P-521',
      found: k,
    });
}

function caRules(c: Certificate, below: number): void {
  const bc = c.basicConstraints;
  if (!bc?.ca)
    throw invalid(`the certificate ${c.subject} issues others but is not a CA`, {
      expected: 'basicConstraints cA=true',
      found: bc ? 'cA=false' : 'no basicConstraints',
    });
  if (bc.pathLen !== undefined && bc.pathLen < below)
    throw invalid(`the CA ${c.subject} may not have ${below} intermediate(s) below it`, {
      expected: `path length ≥ ${below}`,
      found: `pathLenConstraint ${bc.pathLen}`,
    });
  if (!c.keyUsage || !(c.keyUsage.bits & KEY_USAGE.keyCertSign))
    throw invalid(`the CA ${c.subject} may not sign certificates`, {
      expected: 'keyUsage keyCertSign',
      found: c.keyUsage ? keyUsageNames(c.keyUsage.bits) : 'no keyUsage',
    });
}

function keyUsageNames(bits: number): string {
  const names = Object.entries(KEY_USAGE)
    .filter(([, b]) => bits & b)
    .map(([n]) => n);
  return names.length ? names.join(', ') : 'none';
}

/**
 * Check a chain's structure and the profile's rules (no validity dates and no trust anchor: those are separate
 * checks). @throws TrustpinError CERTIFICATE_INVALID naming the certificate and the rule
 */
export function validateChain(chain: Certificate[], purpose: ChainPurpose): void {
  if (chain.length === 0) throw invalid('the certificate chain is empty', { expected: 'leaf … root' });
  if (chain.length > MAX_NOTATION_CERT_CHAIN)
    throw invalid(`the certificate chain has ${chain.length} certificates`, {
      expected: `at most ${MAX_NOTATION_CERT_CHAIN}`,
    });
  for (const c of chain) {
    const weak = WEAK_SIGNATURE_ALGORITHMS[c.signatureAlgorithm];
    if (weak)
      throw invalid(`the certificate ${c.subject} is signed with ${weak}`, {
        expected: 'SHA-256 or stronger',
        found: weak,
      });
    if (c.unknownCritical.length)
      throw invalid(`the certificate ${c.subject} has critical extensions trustpin does not understand`, {
        found: c.unknownCritical.join(', '),
        hint: 'RFC 5280: a certificate with an unrecognised critical extension must be rejected',
      });
  }
  if (chain.length === 1) {
    const c = chain[0]!;
    if (!isSelfSigned(c))
      throw invalid(`the chain is the single certificate ${c.subject}, which is not self-signed`, {
        expected: 'a self-signed certificate, or a chain leaf … root',
        found: `issuer ${c.issuer}`,
        hint: 'the envelope must carry the whole chain up to the root',
      });
    leafRules(c, purpose);
    return;
  }
  for (const [i, c] of chain.entries()) {
    const last = i === chain.length - 1;
    if (last) {
      if (!isSelfSigned(c))
        throw invalid(`the chain ends in ${c.subject}, which is not a self-signed root`, {
          expected: 'a chain ending in a self-signed root',
          found: `issuer ${c.issuer}`,
        });
    } else {
      if (isSelfSigned(c))
        throw invalid(`the ${i === 0 ? 'leaf' : 'intermediate'} certificate ${c.subject} is self-signed`, {
          expected: 'only the last certificate self-signed',
        });
      if (!issuedBy(c, chain[i + 1]!))
        throw invalid(`the certificate ${c.subject} is not issued by ${chain[i + 1]!.subject}`, {
          expected: 'each certificate signed by the next one in the chain',
          found: `issuer ${c.issuer}`,
        });
    }
    if (i === 0) leafRules(c, purpose);
    else caRules(c, i - 1);
  }
}

/** The first certificate of `chain` not valid at `at`, or undefined. */
export function invalidAt(chain: Certificate[], at: Date): Certificate | undefined {
  return chain.find((c) => at < c.notBefore || at > c.notAfter);
}

/** The first certificate of `chain` whose validity does not contain all of [from, to]. */
export function invalidDuring(chain: Certificate[], from: Date, to: Date): Certificate | undefined {
  return chain.find((c) => from < c.notBefore || to > c.notAfter);
}
