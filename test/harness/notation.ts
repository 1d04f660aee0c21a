// A Notation signer for tests and benchmarks (no notation binary here): a test PKI (root, intermediate, code
// signing leaf, or notation's self-signed local key), an RFC 3161 TSA, JWS and COSE envelopes written as
// notation-core-go writes them, the signature manifest and its tag-schema index (pushed to a real registry or
// written into an OCI layout), and the trust store / trust policy files. Certificates are built with
// @peculiar/asn1-x509 and signed with node:crypto; timestamp tokens are built with pkijs and signed with
// node:crypto. Everything it makes is checked independently in test/harness-notation.selftest.test.ts; the
// options that break a rule (alg, extraCritical, dropCritical, tamper, eku, leafIsCa, sha1, untrusted) make the
// forgeries a verifier must refuse.
import {
  createHash,
  sign as cryptoSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import { encode, Tag } from 'cbor2';
import { sortCoreDeterministic } from 'cbor2/sorts';
import * as pkijs from 'pkijs';
import {
  blobPath,
  emptyIndex,
  INDEX_FILE,
  indexEntry,
  MARKER_FILE,
  markerText,
  REF_NAME,
} from '../../src/source/index.js';
import {
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  NOTATION_PAYLOAD_MEDIA_TYPE,
  NOTATION_SIGNATURE_ARTIFACT_TYPE,
  NOTATION_THUMBPRINT_ANNOTATION,
} from '../../src/trust/notation/types.js';
import { fetchToken, parseChallenge } from './http.js';
import {
  type BuiltBlob,
  built,
  type DescriptorJson,
  digestTag,
  EMPTY_CONFIG,
  goJson,
  ociIndex,
  ociManifest,
  pushArtifacts,
} from './push.js';

export {
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  NOTATION_PAYLOAD_MEDIA_TYPE,
  NOTATION_SIGNATURE_ARTIFACT_TYPE,
  NOTATION_THUMBPRINT_ANNOTATION,
};

export const NOTATION_HEADER = {
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  signingAgent: 'io.cncf.notary.signingAgent',
  timestampSignature: 'io.cncf.notary.timestampSignature',
} as const;
export const OCI_CREATED_ANNOTATION = 'org.opencontainers.image.created';
/** id-ct-TSTInfo, the eContentType of an RFC 3161 token */
export const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
/** The labels of a COSE header notation-core-go uses (RFC 9052 §3.1, RFC 9360). */
export const COSE_LABEL = { alg: 1, crit: 2, contentType: 3, x5chain: 33 } as const;

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const sha = (alg: string, b: Buffer | Uint8Array): Buffer => createHash(alg).update(b).digest();
const toAb = (b: Buffer | Uint8Array): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const u8 = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

// ---- keys ----

export type NotationKeyType = 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ec-p256' | 'ec-p384' | 'ec-p521';
export type HashName = 'sha256' | 'sha384' | 'sha512';

const CURVES: Record<string, { name: string; hash: HashName; size: number }> = {
  'ec-p256': { name: 'P-256', hash: 'sha256', size: 256 },
  'ec-p384': { name: 'P-384', hash: 'sha384', size: 384 },
  'ec-p521': { name: 'P-521', hash: 'sha512', size: 521 },
};
const NODE_CURVES: Record<string, NotationKeyType> = {
  prime256v1: 'ec-p256',
  'P-256': 'ec-p256',
  secp384r1: 'ec-p384',
  'P-384': 'ec-p384',
  secp521r1: 'ec-p521',
  'P-521': 'ec-p521',
};

function generateKey(type: NotationKeyType): { privateKey: KeyObject; spki: Buffer } {
  const pair = type.startsWith('rsa-')
    ? generateKeyPairSync('rsa', { modulusLength: Number(type.slice(4)) })
    : generateKeyPairSync('ec', { namedCurve: CURVES[type]!.name });
  return { privateKey: pair.privateKey, spki: pair.publicKey.export({ type: 'spki', format: 'der' }) };
}

/** The key type of a private (or public) key, from its size or curve. */
export function keyTypeOf(key: KeyObject): NotationKeyType {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const t = `rsa-${d.modulusLength}` as NotationKeyType;
    if (!['rsa-2048', 'rsa-3072', 'rsa-4096'].includes(t)) throw new Error(`unsupported RSA size ${t}`);
    return t;
  }
  if (key.asymmetricKeyType === 'ec' && d.namedCurve && NODE_CURVES[d.namedCurve])
    return NODE_CURVES[d.namedCurve]!;
  throw new Error(`unsupported key ${key.asymmetricKeyType} ${JSON.stringify(d)}`);
}

/** The hash of the signing scheme notation-core-go picks for a key (RSA 2048/3072/4096, EC P-256/384/521). */
export function hashOfKey(type: NotationKeyType): HashName {
  if (type.startsWith('ec-')) return CURVES[type]!.hash;
  return type === 'rsa-2048' ? 'sha256' : type === 'rsa-3072' ? 'sha384' : 'sha512';
}

// ---- certificates ----

export interface NotationCert {
  der: Buffer;
  pem: string;
  /** the private key */
  key: KeyObject;
  /** the subject DN in RDN order, as written in trustedIdentities (`C=US, ST=WA, …, CN=…`) */
  subject: string;
  keyType: NotationKeyType;
}

export function pemOf(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

const DN_OIDS: Record<string, string> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  S: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  SERIALNUMBER: '2.5.4.5',
};

/** `C=US, ST=WA, O=Acme, CN=x` (commas inside a value escaped `\,`) → an X.509 Name, one attribute per RDN. */
function nameOf(dnText: string): x509.Name {
  const parts = dnText.split(/(?<!\\),/).map((p) => p.trim());
  return new x509.Name(
    parts.map((p) => {
      const eq = p.indexOf('=');
      if (eq < 0) throw new Error(`bad DN part ${p}`);
      const type = p.slice(0, eq).trim().toUpperCase();
      const value = p
        .slice(eq + 1)
        .trim()
        .replace(/\\(.)/g, '$1');
      const oid = DN_OIDS[type] ?? type;
      const v =
        oid === '2.5.4.6' || oid === '2.5.4.5'
          ? new x509.AttributeValue({ printableString: value })
          : new x509.AttributeValue({ utf8String: value });
      return new x509.RelativeDistinguishedName([new x509.AttributeTypeAndValue({ type: oid, value: v })]);
    }),
  );
}

function ext(oid: string, critical: boolean, value: ArrayBuffer): x509.Extension {
  return new x509.Extension({ extnID: oid, critical, extnValue: new OctetString(value) });
}
const skid = (spki: Buffer) => sha('sha1', spki);

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

export const EKU_OIDS = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;
export type EkuName = keyof typeof EKU_OIDS;

const extensions = {
  keyUsage: (names: KeyUsageName[], critical = true) =>
    ext(
      '2.5.29.15',
      critical,
      AsnConvert.serialize(new x509.KeyUsage(names.reduce((f, n) => f | x509.KeyUsageFlags[n], 0))),
    ),
  basicConstraints: (cA: boolean, pathLenConstraint?: number) =>
    ext(
      '2.5.29.19',
      true,
      AsnConvert.serialize(
        new x509.BasicConstraints(pathLenConstraint === undefined ? { cA } : { cA, pathLenConstraint }),
      ),
    ),
  eku: (usages: string[], critical = false) =>
    ext(
      '2.5.29.37',
      critical,
      AsnConvert.serialize(
        new x509.ExtendedKeyUsage(usages.map((u) => (EKU_OIDS as Record<string, string>)[u] ?? u)),
      ),
    ),
  subjectKeyId: (spki: Buffer) =>
    ext('2.5.29.14', false, AsnConvert.serialize(new OctetString(toAb(skid(spki))))),
  authorityKeyId: (issuerSpki: Buffer) =>
    ext(
      '2.5.29.35',
      false,
      AsnConvert.serialize(
        new x509.AuthorityKeyIdentifier({ keyIdentifier: new x509.KeyIdentifier(toAb(skid(issuerSpki))) }),
      ),
    ),
};

const RSA_NULL = toAb(Buffer.from([0x05, 0x00]));
/** The signature AlgorithmIdentifier and node:crypto hash for certificates an issuer key signs. */
function certSigAlg(issuer: NotationKeyType, sha1: boolean): { alg: x509.AlgorithmIdentifier; hash: string } {
  if (issuer.startsWith('rsa-')) {
    const [oid, hash] = sha1 ? ['1.2.840.113549.1.1.5', 'sha1'] : ['1.2.840.113549.1.1.11', 'sha256'];
    return { alg: new x509.AlgorithmIdentifier({ algorithm: oid, parameters: RSA_NULL }), hash };
  }
  const hash = sha1 ? 'sha1' : CURVES[issuer]!.hash;
  const oid = {
    sha1: '1.2.840.10045.4.1',
    sha256: '1.2.840.10045.4.3.2',
    sha384: '1.2.840.10045.4.3.3',
    sha512: '1.2.840.10045.4.3.4',
  }[hash]!;
  return { alg: new x509.AlgorithmIdentifier({ algorithm: oid }), hash };
}

interface Issuer {
  name: x509.Name;
  key: KeyObject;
  spki: Buffer;
  keyType: NotationKeyType;
}

function serialNumber(): ArrayBuffer {
  const s = randomBytes(16);
  s[0] = (s[0]! & 0x7f) | 0x01;
  return toAb(s);
}

function makeCert(o: {
  subject: string;
  keyType: NotationKeyType;
  issuer?: Issuer; // default: self-signed
  notBefore: Date;
  notAfter: Date;
  extensions: (spki: Buffer, issuerSpki: Buffer) => x509.Extension[];
  sha1?: boolean;
}): NotationCert & { issuerView: Issuer } {
  const k = generateKey(o.keyType);
  const name = nameOf(o.subject);
  const self: Issuer = { name, key: k.privateKey, spki: k.spki, keyType: o.keyType };
  const issuer = o.issuer ?? self;
  const { alg, hash } = certSigAlg(issuer.keyType, o.sha1 ?? false);
  const tbs = new x509.TBSCertificate({
    version: x509.Version.v3,
    serialNumber: serialNumber(),
    signature: alg,
    issuer: issuer.name,
    validity: new x509.Validity({ notBefore: o.notBefore, notAfter: o.notAfter }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(k.spki, x509.SubjectPublicKeyInfo),
    extensions: new x509.Extensions(o.extensions(k.spki, issuer.spki)),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const sig = cryptoSign(hash, tbsDer, issuer.key);
  const der = Buffer.from(
    AsnConvert.serialize(
      new x509.Certificate({ tbsCertificate: tbs, signatureAlgorithm: alg, signatureValue: toAb(sig) }),
    ),
  );
  return {
    der,
    pem: pemOf(der),
    key: k.privateKey,
    subject: o.subject,
    keyType: o.keyType,
    issuerView: self,
  };
}

function strip(c: NotationCert & { issuerView?: Issuer }): NotationCert {
  const { issuerView: _, ...rest } = c;
  return rest;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

export interface NotationPkiOptions {
  /** the clock the default validities are taken from (default the real time) */
  now?: Date;
  /** key types (default rsa-3072 everywhere, as notation's test certificates) */
  rootKey?: NotationKeyType;
  intermediateKey?: NotationKeyType;
  leafKey?: NotationKeyType;
  /** root → intermediate → leaf (default true); false: root → leaf */
  intermediate?: boolean;
  /** the leaf's validity (default now−1d … now+1y) */
  notBefore?: Date;
  notAfter?: Date;
  /** the CAs' validity (default now−2d … now+10y) */
  caValidity?: Validity;
  subjects?: { root?: string; intermediate?: string; leaf?: string };
  /** the leaf's EKU: names or OIDs (default codeSigning); null = no EKU extension */
  eku?: EkuName | string | string[] | null;
  /** the leaf's keyUsage (critical; default digitalSignature); null = no keyUsage extension */
  keyUsage?: KeyUsageName[] | null;
  /** the leaf carries basicConstraints cA=true (a CA used as a signing certificate) */
  leafIsCa?: boolean;
  /** every certificate is signed with SHA-1 (sha1WithRSAEncryption / ecdsa-with-SHA1) */
  sha1?: boolean;
  /** one self-signed code signing certificate (notation's local key, like the e2e `e2e.crt`) */
  selfSignedLeaf?: boolean;
}

export interface NotationPki {
  root: NotationCert;
  intermediate?: NotationCert;
  leaf: NotationCert;
  /** DER, leaf … root (for a self-signed leaf: just the leaf) */
  chain: Buffer[];
}

export const DEFAULT_SUBJECTS = {
  root: 'C=US, ST=WA, L=Seattle, O=Acme Test, CN=Acme Test Root CA',
  intermediate: 'C=US, ST=WA, L=Seattle, O=Acme Test, CN=Acme Test Intermediate CA',
  leaf: 'C=US, ST=WA, L=Seattle, O=Acme Test, CN=Acme Test Signer',
} as const;

/** A Notation signing PKI; see NotationPkiOptions for the defaults and the variants tests attack with. */
export function notationPki(o: NotationPkiOptions = {}): NotationPki {
  const now = o.now ?? new Date();
  const caFrom = o.caValidity?.notBefore ?? new Date(now.getTime() - 2 * DAY);
  const caTo = o.caValidity?.notAfter ?? new Date(now.getTime() + 10 * YEAR);
  const leafFrom = o.notBefore ?? new Date(now.getTime() - DAY);
  const leafTo = o.notAfter ?? new Date(now.getTime() + YEAR);
  const eku = o.eku === null ? null : typeof o.eku === 'string' ? [o.eku] : (o.eku ?? ['codeSigning']);
  const ku = o.keyUsage === null ? null : (o.keyUsage ?? ['digitalSignature']);
  const leafExt = (selfSigned: boolean) => (spki: Buffer, issuerSpki: Buffer) => {
    const out: x509.Extension[] = [];
    if (ku) out.push(extensions.keyUsage(ku));
    if (eku) out.push(extensions.eku(eku));
    if (o.leafIsCa) out.push(extensions.basicConstraints(true));
    if (!selfSigned) {
      out.push(extensions.subjectKeyId(spki), extensions.authorityKeyId(issuerSpki));
    }
    return out;
  };
  if (o.selfSignedLeaf) {
    const leaf = makeCert({
      subject: o.subjects?.leaf ?? DEFAULT_SUBJECTS.leaf,
      keyType: o.leafKey ?? 'rsa-3072',
      notBefore: leafFrom,
      notAfter: leafTo,
      extensions: leafExt(true),
      sha1: o.sha1 ?? false,
    });
    const c = strip(leaf);
    return { root: c, leaf: c, chain: [c.der] };
  }
  const caExt = (spki: Buffer, issuerSpki: Buffer) => {
    const out = [
      extensions.basicConstraints(true),
      extensions.keyUsage(['keyCertSign', 'cRLSign']),
      extensions.subjectKeyId(spki),
    ];
    if (!spki.equals(issuerSpki)) out.push(extensions.authorityKeyId(issuerSpki));
    return out;
  };
  const root = makeCert({
    subject: o.subjects?.root ?? DEFAULT_SUBJECTS.root,
    keyType: o.rootKey ?? 'rsa-3072',
    notBefore: caFrom,
    notAfter: caTo,
    extensions: caExt,
    sha1: o.sha1 ?? false,
  });
  let issuer = root.issuerView;
  let intermediate: (NotationCert & { issuerView: Issuer }) | undefined;
  if (o.intermediate ?? true) {
    intermediate = makeCert({
      subject: o.subjects?.intermediate ?? DEFAULT_SUBJECTS.intermediate,
      keyType: o.intermediateKey ?? 'rsa-3072',
      issuer,
      notBefore: caFrom,
      notAfter: caTo,
      extensions: caExt,
      sha1: o.sha1 ?? false,
    });
    issuer = intermediate.issuerView;
  }
  const leaf = makeCert({
    subject: o.subjects?.leaf ?? DEFAULT_SUBJECTS.leaf,
    keyType: o.leafKey ?? 'rsa-3072',
    issuer,
    notBefore: leafFrom,
    notAfter: leafTo,
    extensions: leafExt(false),
    sha1: o.sha1 ?? false,
  });
  const chain = [leaf.der, ...(intermediate ? [intermediate.der] : []), root.der];
  return {
    root: strip(root),
    ...(intermediate ? { intermediate: strip(intermediate) } : {}),
    leaf: strip(leaf),
    chain,
  };
}

// ---- RFC 3161 TSA ----

export interface TimestampOptions {
  genTime: Date;
  /** the messageImprint hash (default sha256) */
  hash?: HashName;
  accuracySeconds?: number;
  /** the certificates the token carries: the TSA's (default), its whole chain, or none (an attack) */
  certs?: 'tsa' | 'chain' | 'none';
}

export interface TestTsa {
  /** the root a `tsa:` trust store should hold (with `untrusted`, not the one the TSA chains to) */
  root: NotationCert;
  /** the timestamping certificate (EKU timeStamping, critical) */
  tsa: NotationCert;
  /** DER, tsa … its real root */
  chain: Buffer[];
  /** an RFC 3161 TimeStampToken (CMS ContentInfo) over `data` */
  timestamp(data: Buffer, o: TimestampOptions): Buffer;
}

export interface TestTsaOptions {
  now?: Date;
  rootKey?: NotationKeyType;
  /** the TSA's key (default rsa-2048) */
  key?: NotationKeyType;
  /** the TSA certificate's validity (default now−1d … now+10y) */
  validity?: Validity;
  /** the TSA is issued by another root than the `root` returned */
  untrusted?: boolean;
  /** the TSA certificate's EKU (default timeStamping, critical); null = none */
  eku?: EkuName | string | null;
  subject?: string;
}

const HASH_OIDS: Record<HashName, string> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

/** A test timestamp authority: a root, a timeStamping certificate, and `timestamp()` making tokens. */
export function testTsa(o: TestTsaOptions = {}): TestTsa {
  const now = o.now ?? new Date();
  const from = o.validity?.notBefore ?? new Date(now.getTime() - DAY);
  const to = o.validity?.notAfter ?? new Date(now.getTime() + 10 * YEAR);
  const caFrom = new Date(Math.min(from.getTime(), now.getTime() - 2 * DAY));
  const caTo = new Date(Math.max(to.getTime(), now.getTime() + 10 * YEAR));
  const caExt = (spki: Buffer) => [
    extensions.basicConstraints(true),
    extensions.keyUsage(['keyCertSign', 'cRLSign']),
    extensions.subjectKeyId(spki),
  ];
  const mkRoot = (cn: string) =>
    makeCert({
      subject: `C=US, ST=WA, O=Acme Test TSA, CN=${cn}`,
      keyType: o.rootKey ?? 'rsa-3072',
      notBefore: caFrom,
      notAfter: caTo,
      extensions: caExt,
    });
  const root = mkRoot('Acme Test TSA Root');
  const realRoot = o.untrusted ? mkRoot('Acme Test TSA Root') : root;
  const tsa = makeCert({
    subject: o.subject ?? 'C=US, ST=WA, O=Acme Test TSA, CN=Acme Test Timestamping',
    keyType: o.key ?? 'rsa-2048',
    issuer: realRoot.issuerView,
    notBefore: from,
    notAfter: to,
    extensions: (spki, issuerSpki) => {
      const out = [extensions.keyUsage(['digitalSignature'])];
      if (o.eku !== null) out.push(extensions.eku([o.eku ?? 'timeStamping'], true));
      out.push(extensions.subjectKeyId(spki), extensions.authorityKeyId(issuerSpki));
      return out;
    },
  });
  const tsaCert = pkijs.Certificate.fromBER(toAb(tsa.der));
  let serial = 1;
  return {
    root: strip(root),
    tsa: strip(tsa),
    chain: [tsa.der, realRoot.der],
    timestamp(data, t) {
      const hash = t.hash ?? 'sha256';
      const tst = new pkijs.TSTInfo({
        version: 1,
        policy: '1.3.6.1.4.1.4146.2.3',
        messageImprint: new pkijs.MessageImprint({
          hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: HASH_OIDS[hash] }),
          hashedMessage: new asn1js.OctetString({ valueHex: toAb(sha(hash, data)) }),
        }),
        serialNumber: new asn1js.Integer({ value: serial++ }),
        genTime: t.genTime,
        ...(t.accuracySeconds !== undefined
          ? { accuracy: new pkijs.Accuracy({ seconds: t.accuracySeconds }) }
          : {}),
      });
      const tstDer = Buffer.from(tst.toSchema().toBER(false));
      // ESSCertIDv2 { certHash (sha256, the DEFAULT algorithm), issuerSerial { GeneralNames [4] issuer, serial } }
      const signingCertificateV2 = new asn1js.Sequence({
        value: [
          new asn1js.Sequence({
            value: [
              new asn1js.Sequence({
                value: [
                  new asn1js.OctetString({ valueHex: toAb(sha('sha256', tsa.der)) }),
                  new asn1js.Sequence({
                    value: [
                      new asn1js.Sequence({
                        value: [
                          new asn1js.Constructed({
                            idBlock: { tagClass: 3, tagNumber: 4 },
                            value: [tsaCert.issuer.toSchema()],
                          }),
                        ],
                      }),
                      tsaCert.serialNumber,
                    ],
                  }),
                ],
              }),
            ],
          }),
        ],
      });
      const signedAttrs = new pkijs.SignedAndUnsignedAttributes({
        type: 0,
        attributes: [
          new pkijs.Attribute({
            type: '1.2.840.113549.1.9.3',
            values: [new asn1js.ObjectIdentifier({ value: ID_CT_TSTINFO })],
          }),
          new pkijs.Attribute({
            type: '1.2.840.113549.1.9.4',
            values: [new asn1js.OctetString({ valueHex: toAb(sha('sha256', tstDer)) })],
          }),
          new pkijs.Attribute({ type: '1.2.840.113549.1.9.16.2.47', values: [signingCertificateV2] }),
        ],
      });
      // what is signed is the attributes' DER with the SET tag in place of the [0] IMPLICIT tag (RFC 5652 §5.4)
      const attrsDer = Buffer.from(signedAttrs.toSchema().toBER(false));
      attrsDer[0] = 0x31;
      const ec = tsa.keyType.startsWith('ec-');
      const signature = cryptoSign('sha256', attrsDer, tsa.key);
      const signerInfo = new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: tsaCert.issuer, serialNumber: tsaCert.serialNumber }),
        digestAlgorithm: new pkijs.AlgorithmIdentifier({
          algorithmId: HASH_OIDS.sha256,
          algorithmParams: new asn1js.Null(),
        }),
        signedAttrs,
        signatureAlgorithm: ec
          ? new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.2' })
          : new pkijs.AlgorithmIdentifier({
              algorithmId: '1.2.840.113549.1.1.11',
              algorithmParams: new asn1js.Null(),
            }),
        signature: new asn1js.OctetString({ valueHex: toAb(signature) }),
      });
      // pkijs turns an eContent given to its constructor into a constructed (BER) OCTET STRING; RFC 3161 tokens
      // carry a primitive one (DER), so it is set afterwards
      const encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType: ID_CT_TSTINFO });
      encapContentInfo.eContent = new asn1js.OctetString({ valueHex: toAb(tstDer) });
      const sd = new pkijs.SignedData({
        version: 3,
        digestAlgorithms: [
          new pkijs.AlgorithmIdentifier({
            algorithmId: HASH_OIDS.sha256,
            algorithmParams: new asn1js.Null(),
          }),
        ],
        encapContentInfo,
        ...(t.certs === 'none'
          ? {}
          : {
              certificates:
                t.certs === 'chain' ? [tsaCert, pkijs.Certificate.fromBER(toAb(realRoot.der))] : [tsaCert],
            }),
        signerInfos: [signerInfo],
      });
      const ci = new pkijs.ContentInfo({
        contentType: pkijs.ContentInfo.SIGNED_DATA,
        content: sd.toSchema(true),
      });
      return Buffer.from(ci.toSchema().toBER(false));
    },
  };
}

// ---- payload ----

export interface TargetArtifact {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
}

const sortedRecord = (m: Record<string, string>): Record<string, string> =>
  Object.fromEntries(
    Object.keys(m)
      .sort()
      .map((k) => [k, m[k]!]),
  );

/**
 * The payload bytes: `{"targetArtifact":{…}}` as notation writes it (Go struct order mediaType, digest, size,
 * annotations; the COSE payload) or re-marshalled through a Go map (sorted keys; what ends up in a JWS, since
 * notation-core-go parses the payload into jwt.MapClaims before signing).
 */
export function notationPayload(t: TargetArtifact, order: 'struct' | 'sorted' = 'struct'): Buffer {
  const d: Record<string, unknown> = { mediaType: t.mediaType, digest: t.digest, size: t.size };
  if (t.annotations && Object.keys(t.annotations).length > 0) d.annotations = sortedRecord(t.annotations);
  if (t.artifactType) d.artifactType = t.artifactType;
  const target =
    order === 'sorted'
      ? Object.fromEntries(
          Object.keys(d)
            .sort()
            .map((k) => [k, d[k]]),
        )
      : d;
  return Buffer.from(goJson({ targetArtifact: target }));
}

// ---- envelopes ----

export type SigningScheme = 'notary.x509' | 'notary.x509.signingAuthority';

export interface SignOptions {
  target: TargetArtifact;
  signer: { key: KeyObject; chain: Buffer[] };
  signingScheme?: SigningScheme;
  signingTime?: Date;
  expiry?: Date;
  signingAgent?: string;
  /** countersign the signature bytes (messageImprint hash = the signature algorithm's hash unless given) */
  timestamp?: { tsa: TestTsa } & TimestampOptions;
  /** the alg written (JWS name, or COSE name/number); the key still signs, with this alg's hash when known */
  alg?: string | number;
  /** an extra protected header, marked critical */
  extraCritical?: { name: string; value: unknown };
  /** names left out of crit (the headers stay) */
  dropCritical?: string[];
  /** sign these payload bytes instead of the target's payload */
  payloadOverride?: Buffer;
  /** change the payload or the signature after signing */
  tamper?: 'payload' | 'signature';
}

const JWS_ALGS: Record<string, { kind: 'rsa' | 'ec'; hash: HashName; cose: number }> = {
  PS256: { kind: 'rsa', hash: 'sha256', cose: -37 },
  PS384: { kind: 'rsa', hash: 'sha384', cose: -38 },
  PS512: { kind: 'rsa', hash: 'sha512', cose: -39 },
  ES256: { kind: 'ec', hash: 'sha256', cose: -7 },
  ES384: { kind: 'ec', hash: 'sha384', cose: -35 },
  ES512: { kind: 'ec', hash: 'sha512', cose: -36 },
};

/** The JWS alg notation-core-go picks for a key. */
export function jwsAlgOf(key: KeyObject): string {
  const t = keyTypeOf(key);
  return `${t.startsWith('rsa-') ? 'PS' : 'ES'}${hashOfKey(t).slice(3)}`;
}

/** Sign as JWS/COSE do: RSASSA-PSS with salt = hash length, or ECDSA with raw r‖s. */
export function notationSignBytes(key: KeyObject, hash: HashName, data: Buffer): Buffer {
  if (key.asymmetricKeyType === 'rsa') {
    return cryptoSign(hash, data, {
      key,
      padding: 6 /* RSA_PKCS1_PSS_PADDING */,
      saltLength: Number(hash.slice(3)) / 8,
    });
  }
  return cryptoSign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
}

/** RFC 3339 in UTC to the second, as notation-core-go writes a (second-truncated) time.Time. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Change one hex digit of the digest inside a payload (still JSON), or else flip a bit of the middle byte. */
function tamperBytes(b: Buffer): Buffer {
  const out = Buffer.from(b);
  const m = /sha256:[0-9a-f]{64}/.exec(out.toString('latin1'));
  if (m) {
    const i = m.index + m[0].length - 1;
    out[i] = out[i] === 0x30 ? 0x31 : 0x30;
  } else {
    const i = out.length >> 1;
    out[i] = out[i]! ^ 0x01;
  }
  return out;
}
const flipFirst = (b: Buffer): Buffer => {
  const out = Buffer.from(b);
  out[0] = out[0]! ^ 0x01;
  return out;
};

function signingHash(o: SignOptions): { alg: string; hash: HashName } {
  const natural = jwsAlgOf(o.signer.key);
  const alg = typeof o.alg === 'string' ? o.alg : natural;
  return { alg, hash: JWS_ALGS[alg]?.hash ?? JWS_ALGS[natural]!.hash };
}

function timestampOf(o: SignOptions, signature: Buffer, hash: HashName): Buffer | undefined {
  if (!o.timestamp) return undefined;
  const { tsa, ...t } = o.timestamp;
  return tsa.timestamp(signature, { ...t, hash: t.hash ?? hash });
}

/** A JWS envelope (flattened JSON) as notation-core-go writes it. */
export function signJws(o: SignOptions): Buffer {
  const scheme = o.signingScheme ?? 'notary.x509';
  const time = o.signingTime ?? new Date();
  const { alg, hash } = signingHash(o);
  // crit in notation-core-go's order: signingScheme, extended critical attributes, authenticSigningTime, expiry
  let crit: string[] = [NOTATION_HEADER.signingScheme];
  const headers: Record<string, unknown> = {
    alg,
    cty: NOTATION_PAYLOAD_MEDIA_TYPE,
    [NOTATION_HEADER.signingScheme]: scheme,
  };
  if (o.extraCritical) {
    crit.push(o.extraCritical.name);
    headers[o.extraCritical.name] = o.extraCritical.value;
  }
  if (scheme === 'notary.x509.signingAuthority') {
    crit.push(NOTATION_HEADER.authenticSigningTime);
    headers[NOTATION_HEADER.authenticSigningTime] = rfc3339(time);
  } else {
    headers[NOTATION_HEADER.signingTime] = rfc3339(time);
  }
  if (o.expiry) {
    crit.push(NOTATION_HEADER.expiry);
    headers[NOTATION_HEADER.expiry] = rfc3339(o.expiry);
  }
  if (o.dropCritical) crit = crit.filter((c) => !o.dropCritical!.includes(c));
  headers.crit = crit;
  // a Go map marshals with sorted keys
  const sortedHeaders = Object.fromEntries(
    Object.keys(headers)
      .sort()
      .map((k) => [k, headers[k]]),
  );
  const protectedB64 = Buffer.from(goJson(sortedHeaders)).toString('base64url');
  const payload = o.payloadOverride ?? notationPayload(o.target, 'sorted');
  const signature = notationSignBytes(
    o.signer.key,
    hash,
    Buffer.from(`${protectedB64}.${payload.toString('base64url')}`),
  );
  const tst = timestampOf(o, signature, hash);
  const header: Record<string, unknown> = {};
  if (tst) header[NOTATION_HEADER.timestampSignature] = tst.toString('base64');
  header.x5c = o.signer.chain.map((c) => c.toString('base64'));
  const agent = o.signingAgent ?? 'trustpin-test/1';
  if (agent) header[NOTATION_HEADER.signingAgent] = agent;
  const finalPayload = o.tamper === 'payload' ? tamperBytes(payload) : payload;
  const finalSig = o.tamper === 'signature' ? flipFirst(signature) : signature;
  return Buffer.from(
    goJson({
      payload: finalPayload.toString('base64url'),
      protected: protectedB64,
      header,
      signature: finalSig.toString('base64url'),
    }),
  );
}

const cbor = (v: unknown): Buffer => Buffer.from(encode(v, { sortKeys: sortCoreDeterministic }));

/** A COSE_Sign1_Tagged envelope as notation-core-go (go-cose, core deterministic CBOR) writes it. */
export function signCose(o: SignOptions): Buffer {
  const scheme = o.signingScheme ?? 'notary.x509';
  const time = o.signingTime ?? new Date();
  const { alg, hash } = signingHash(o);
  const coseAlg = typeof o.alg === 'number' ? o.alg : (JWS_ALGS[alg]?.cose ?? 0);
  const epoch = (d: Date) => new Tag(1, Math.floor(d.getTime() / 1000));
  // crit in notation-core-go's order: signingScheme, authenticSigningTime, expiry, extended critical attributes
  let crit: (string | number)[] = [NOTATION_HEADER.signingScheme];
  const prot = new Map<string | number, unknown>();
  prot.set(COSE_LABEL.alg, coseAlg);
  prot.set(NOTATION_HEADER.signingScheme, scheme);
  if (scheme === 'notary.x509.signingAuthority') {
    prot.set(NOTATION_HEADER.authenticSigningTime, epoch(time));
    crit.push(NOTATION_HEADER.authenticSigningTime);
  } else {
    prot.set(NOTATION_HEADER.signingTime, epoch(time));
  }
  if (o.expiry) {
    crit.push(NOTATION_HEADER.expiry);
    prot.set(NOTATION_HEADER.expiry, epoch(o.expiry));
  }
  if (o.extraCritical) {
    crit.push(o.extraCritical.name);
    prot.set(o.extraCritical.name, o.extraCritical.value);
  }
  if (o.dropCritical) crit = crit.filter((c) => !o.dropCritical!.includes(String(c)));
  prot.set(COSE_LABEL.crit, crit);
  prot.set(COSE_LABEL.contentType, NOTATION_PAYLOAD_MEDIA_TYPE);
  const protectedBytes = cbor(prot);
  const payload = o.payloadOverride ?? notationPayload(o.target, 'struct');
  const toBeSigned = cbor(['Signature1', u8(protectedBytes), new Uint8Array(0), u8(payload)]);
  const signature = notationSignBytes(o.signer.key, hash, toBeSigned);
  const unprot = new Map<string | number, unknown>();
  const agent = o.signingAgent ?? 'trustpin-test/1';
  if (agent) unprot.set(NOTATION_HEADER.signingAgent, agent);
  unprot.set(
    COSE_LABEL.x5chain,
    o.signer.chain.map((c) => u8(Buffer.from(c))),
  );
  const tst = timestampOf(o, signature, hash);
  if (tst) unprot.set(NOTATION_HEADER.timestampSignature, u8(tst));
  const finalPayload = o.tamper === 'payload' ? tamperBytes(payload) : payload;
  const finalSig = o.tamper === 'signature' ? flipFirst(signature) : signature;
  return cbor(new Tag(18, [u8(protectedBytes), unprot, u8(finalPayload), u8(finalSig)]));
}

// ---- storage: the signature manifest, the registry, an OCI layout ----

/** SHA-256 hex fingerprints of the chain, leaf first (the thumbprint annotation's array). */
export function thumbprints(chain: Buffer[]): string[] {
  return chain.map((c) => sha('sha256', c).toString('hex'));
}

export interface SignatureManifestOptions {
  subject: DescriptorJson;
  envelope: Buffer;
  envelopeMediaType: string;
  chain: Buffer[];
  /** pre-1.1: no artifactType, config.mediaType = application/vnd.cncf.notary.signature */
  legacyConfig?: boolean;
  /** org.opencontainers.image.created (default now) */
  created?: Date;
}

/** The signature manifest and the blobs it needs (config, envelope). */
export function notationSignatureManifest(o: SignatureManifestOptions): {
  manifest: BuiltBlob;
  blobs: Buffer[];
} {
  const config = o.legacyConfig ? built(Buffer.from('{}'), NOTATION_SIGNATURE_ARTIFACT_TYPE) : EMPTY_CONFIG;
  const layer = built(o.envelope, o.envelopeMediaType);
  const manifest = ociManifest({
    config,
    layers: [{ blob: layer }],
    ...(o.legacyConfig ? {} : { artifactType: NOTATION_SIGNATURE_ARTIFACT_TYPE }),
    subject: { mediaType: o.subject.mediaType, digest: o.subject.digest, size: o.subject.size },
    annotations: {
      [NOTATION_THUMBPRINT_ANNOTATION]: JSON.stringify(thumbprints(o.chain)),
      [OCI_CREATED_ANNOTATION]: rfc3339(o.created ?? new Date()),
    },
  });
  return { manifest, blobs: [config.bytes, o.envelope] };
}

/** A tag-schema index entry for a signature manifest, field order as oras-go writes it. */
function referrerEntry(manifest: BuiltBlob): DescriptorJson {
  const doc = JSON.parse(manifest.bytes.toString()) as {
    artifactType?: string;
    config: { mediaType: string };
    annotations?: Record<string, string>;
  };
  return {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    ...(doc.annotations ? { annotations: doc.annotations } : {}),
    artifactType: doc.artifactType ?? doc.config.mediaType,
  };
}

function mergeIndex(existing: Buffer | undefined, add: DescriptorJson): BuiltBlob {
  const entries: DescriptorJson[] = [];
  if (existing) {
    const doc = JSON.parse(existing.toString()) as { manifests?: DescriptorJson[] };
    for (const m of doc.manifests ?? []) if (m.digest !== add.digest) entries.push(m);
  }
  entries.push(add);
  return ociIndex(entries);
}

export interface PushedSignature {
  manifest: BuiltBlob;
  /** the tag-schema index as now pushed */
  index: BuiltBlob;
  /** `sha256-<hex>` */
  tag: string;
}

async function getManifest(
  host: string,
  repository: string,
  ref: string,
  auth?: string,
): Promise<Buffer | undefined> {
  const url = `http://${host}/v2/${repository}/manifests/${ref}`;
  const accept = 'application/vnd.oci.image.index.v1+json';
  const basic = auth ? `Basic ${Buffer.from(auth).toString('base64')}` : undefined;
  let res = await fetch(url, { headers: { accept }, signal: AbortSignal.timeout(30_000) });
  if (res.status === 401) {
    await res.arrayBuffer();
    const challenge = res.headers.get('www-authenticate') ?? '';
    const authorization = /^basic/i.test(challenge)
      ? basic
      : `Bearer ${await fetchToken(parseChallenge(challenge), basic)}`;
    res = await fetch(url, {
      headers: { accept, ...(authorization ? { authorization } : {}) },
      signal: AbortSignal.timeout(30_000),
    });
  }
  if (res.status === 404) {
    await res.arrayBuffer();
    return undefined;
  }
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return Buffer.from(await res.arrayBuffer());
}

/**
 * Push a signature for `subject` by digest and rewrite its tag-schema index `sha256-<hex>` (docker-registry 2.8
 * has no referrers API), keeping the signatures already listed there.
 */
export async function pushNotationSignature(
  host: string,
  repository: string,
  subject: DescriptorJson,
  envelope: Buffer,
  mediaType: string,
  chain: Buffer[],
  o: { auth?: string; legacyConfig?: boolean; created?: Date } = {},
): Promise<PushedSignature> {
  const { manifest, blobs } = notationSignatureManifest({
    subject,
    envelope,
    envelopeMediaType: mediaType,
    chain,
    ...(o.legacyConfig ? { legacyConfig: true } : {}),
    ...(o.created ? { created: o.created } : {}),
  });
  const tag = digestTag(subject.digest);
  await pushArtifacts(
    host,
    repository,
    { blobs, manifests: [{ bytes: manifest.bytes, mediaType: manifest.mediaType }] },
    o.auth,
  );
  const index = mergeIndex(await getManifest(host, repository, tag, o.auth), referrerEntry(manifest));
  await pushArtifacts(
    host,
    repository,
    { blobs: [], manifests: [{ bytes: index.bytes, mediaType: index.mediaType, tag }] },
    o.auth,
  );
  return { manifest, index, tag };
}

interface LayoutIndexDoc {
  schemaVersion: number;
  mediaType?: string;
  manifests: DescriptorJson[];
}

/**
 * Add a signature to an existing OCI layout as notation (oras-go) does: the blobs, an untagged index.json entry
 * for the signature manifest, and the tag-schema index tagged `sha256-<hex>` (merged with the one there).
 * index.json is replaced by rename.
 */
export async function writeNotationToLayout(
  layoutDir: string,
  subject: DescriptorJson,
  envelope: Buffer,
  mediaType: string,
  chain: Buffer[],
  o: { legacyConfig?: boolean; created?: Date } = {},
): Promise<PushedSignature> {
  const { manifest, blobs } = notationSignatureManifest({
    subject,
    envelope,
    envelopeMediaType: mediaType,
    chain,
    ...(o.legacyConfig ? { legacyConfig: true } : {}),
    ...(o.created ? { created: o.created } : {}),
  });
  const tag = digestTag(subject.digest);
  const indexFile = join(layoutDir, INDEX_FILE);
  let doc: LayoutIndexDoc;
  try {
    doc = JSON.parse(await readFile(indexFile, 'utf8')) as LayoutIndexDoc;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    doc = emptyIndex() as unknown as LayoutIndexDoc;
    await mkdir(layoutDir, { recursive: true });
    await writeFile(join(layoutDir, MARKER_FILE), markerText());
  }
  const tagged = doc.manifests.find((m) => m.annotations?.[REF_NAME] === tag);
  const existing = tagged ? await readFile(join(layoutDir, blobPath(tagged.digest))) : undefined;
  const index = mergeIndex(existing, referrerEntry(manifest));
  for (const b of [...blobs, manifest.bytes, index.bytes]) {
    const file = join(layoutDir, blobPath(built(b, '').digest));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, b);
  }
  const manifests = doc.manifests.filter(
    (m) => m.digest !== manifest.digest && m.annotations?.[REF_NAME] !== tag,
  );
  manifests.push(
    indexEntry(manifest as never) as DescriptorJson,
    indexEntry(index as never, tag) as DescriptorJson,
  );
  const tmp = `${indexFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify({ ...doc, manifests }));
  await rename(tmp, indexFile);
  return { manifest, index, tag };
}

// ---- trust store and trust policy ----

export type TrustStoreKind = 'ca' | 'signingAuthority' | 'tsa';

/** Write `certs` as PEM files `<root>/x509/<type>/<name>/cert-<i>.pem`; returns the store's directory. */
export async function writeTrustStore(
  root: string,
  type: TrustStoreKind,
  name: string,
  certs: Buffer[],
): Promise<string> {
  const dir = join(root, 'x509', type, name);
  await mkdir(dir, { recursive: true });
  for (const [i, c] of certs.entries()) await writeFile(join(dir, `cert-${i}.pem`), pemOf(c));
  return dir;
}

export interface TrustPolicyStatementJson {
  name: string;
  registryScopes: string[];
  signatureVerification: {
    level: 'strict' | 'permissive' | 'audit' | 'skip';
    override?: Record<string, string>;
    verifyTimestamp?: 'always' | 'afterCertExpiry';
  };
  trustStores?: string[];
  trustedIdentities?: string[];
}

/** Write a v1.0 OCI trust policy document with `statements`. */
export async function writeTrustPolicy(path: string, statements: TrustPolicyStatementJson[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify({ version: '1.0', trustPolicies: statements }, null, 2)}\n`);
}

/** A strict statement for every repository (`*`) trusting `ca:test` and any identity, unless told otherwise. */
export function defaultPolicy(
  o: {
    name?: string;
    registryScopes?: string[];
    level?: TrustPolicyStatementJson['signatureVerification']['level'];
    override?: Record<string, string>;
    verifyTimestamp?: 'always' | 'afterCertExpiry';
    trustStores?: string[];
    trustedIdentities?: string[];
  } = {},
): TrustPolicyStatementJson {
  return {
    name: o.name ?? 'test-policy',
    registryScopes: o.registryScopes ?? ['*'],
    signatureVerification: {
      level: o.level ?? 'strict',
      ...(o.override ? { override: o.override } : {}),
      ...(o.verifyTimestamp ? { verifyTimestamp: o.verifyTimestamp } : {}),
    },
    trustStores: o.trustStores ?? ['ca:test'],
    trustedIdentities: o.trustedIdentities ?? ['*'],
  };
}
