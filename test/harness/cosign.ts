// A cosign-format signer for tests and benchmarks (no cosign binary here): keys, the simple-signing payload
// byte-exact as cosign writes it, legacy `.sig` / `.att` layers, Sigstore v0.3 bundles, and a fake Sigstore
// (Fulcio CA chain, CT log, Rekor log) that runs offline on an injectable clock. Certificates are built with
// @peculiar/asn1-x509 and signed with node:crypto; Rekor SETs, inclusion proofs and checkpoints are made here.
// Everything it makes verifies with @sigstore/verify against `trustedRoot` (test/harness-cosign.selftest.test.ts);
// the `hostile` helpers make the forgeries a registry could serve.
import {
  createHash,
  sign as cryptoSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/asn1-x509';
import { json } from '@sigstore/core';
import { FULCIO_EXTENSIONS } from '../../src/trust/cosign/check.js';
import type { SignatureArtifact } from '../../src/trust/cosign/types.js';
import {
  type BuiltBlob,
  built,
  cosignLegacyManifest,
  type DescriptorJson,
  digestTag,
  EMPTY_CONFIG,
  goJson,
  type PushSet,
  pushArtifacts,
  referrerManifest,
  tagSchemaIndex,
} from './push.js';

// ---- media types, annotations, tags ----

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const INTOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export const COSIGN_ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
  bundleContent: 'dev.sigstore.bundle.content',
  bundlePredicateType: 'dev.sigstore.bundle.predicateType',
  created: 'org.opencontainers.image.created',
} as const;

const sha256 = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();
const hex = (b: Buffer | string): string => sha256(b).toString('hex');
/** `sha256:<hex>` of some bytes. */
export const digestOf = (b: Buffer | string): string => `sha256:${hex(b)}`;

// ---- keys ----

export type CosignKeyKind = 'p256' | 'p384' | 'rsa' | 'ed25519';

export interface CosignKey {
  kind: CosignKeyKind;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM (what `cosign.pub` holds) */
  pem: string;
  /** SPKI DER */
  der: Buffer;
  /** hex sha256 of the DER SPKI */
  keyId: string;
}

/** A fresh key pair of the given kind (RSA is 2048-bit, PKCS#1 v1.5 signatures). */
export function cosignKey(kind: CosignKeyKind = 'p256'): CosignKey {
  const pair =
    kind === 'p256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : kind === 'p384'
        ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
        : kind === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ed25519');
  const der = pair.publicKey.export({ type: 'spki', format: 'der' });
  return {
    kind,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    pem: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    der,
    keyId: hex(der),
  };
}

/** Sign as cosign does: SHA-256 (ECDSA DER, RSA PKCS#1 v1.5), or Ed25519 over the bytes. */
export function signBytes(key: CosignKey, data: Buffer): Buffer {
  return cryptoSign(key.kind === 'ed25519' ? null : 'sha256', data, key.privateKey);
}

// ---- payloads ----

/**
 * cosign's simple-signing payload, byte-exact (Go json.Marshal of SimpleContainerImage): `optional` is null
 * without annotations, else the annotations with sorted keys.
 */
export function simpleSigningPayload(o: {
  digest: string;
  dockerReference: string;
  annotations?: Record<string, string> | undefined;
}): Buffer {
  let optional: Record<string, string> | null = null;
  if (o.annotations && Object.keys(o.annotations).length > 0) {
    optional = {};
    for (const k of Object.keys(o.annotations).sort()) optional[k] = o.annotations[k]!;
  }
  return Buffer.from(
    goJson({
      critical: {
        identity: { 'docker-reference': o.dockerReference },
        image: { 'docker-manifest-digest': o.digest },
        type: 'cosign container image signature',
      },
      optional,
    }),
  );
}

/** An in-toto v1 statement about `digest` (bytes as cosign writes them). */
export function inTotoStatement(o: {
  digest: string;
  name?: string | undefined;
  predicateType?: string | undefined;
  predicate?: unknown;
}): Buffer {
  return Buffer.from(
    goJson({
      _type: INTOTO_STATEMENT_V1,
      subject: [{ name: o.name ?? '', digest: { sha256: o.digest.replace(/^sha256:/, '') } }],
      predicateType: o.predicateType ?? COSIGN_SIGN_PREDICATE_TYPE,
      predicate: o.predicate ?? {},
    }),
  );
}

/** A SLSA provenance v1 predicate with the fields policies look at: builder, source repository, commit. */
export function slsaProvenance(o: {
  builderId?: string;
  sourceRepository: string;
  commit: string;
  buildType?: string;
}): Record<string, unknown> {
  return {
    buildDefinition: {
      buildType: o.buildType ?? 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: {
        workflow: {
          repository: o.sourceRepository,
          ref: 'refs/heads/main',
          path: '.github/workflows/release.yml',
        },
      },
      resolvedDependencies: [
        { uri: `git+${o.sourceRepository}@refs/heads/main`, digest: { gitCommit: o.commit } },
      ],
    },
    runDetails: {
      builder: { id: o.builderId ?? 'https://github.com/actions/runner/github-hosted' },
      metadata: { invocationId: `${o.sourceRepository}/actions/runs/1/attempts/1` },
    },
  };
}

/** DSSE's pre-authentication encoding: what a DSSE signature signs. */
export const pae = (type: string, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);

// ---- DER bits ----

function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const b: number[] = [];
  for (let v = n; v > 0; v >>= 8) b.unshift(v & 0xff);
  return Buffer.from([0x80 | b.length, ...b]);
}
const derUtf8 = (s: string): Buffer => {
  const v = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([0x0c]), derLen(v.length), v]);
};
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const v = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLen(v.length), v]);
};
function derOid(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const a of arcs.slice(2)) {
    const b: number[] = [a & 0x7f];
    for (let v = Math.floor(a / 128); v > 0; v = Math.floor(v / 128)) b.unshift((v & 0x7f) | 0x80);
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}
const derInt = (b: Buffer): Buffer => tlv(0x02, b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
const derTime = (d: Date): Buffer =>
  tlv(
    0x18,
    Buffer.from(
      `${d
        .toISOString()
        .replace(/[-:T]/g, '')
        .replace(/\.\d{3}Z$/, '')}Z`,
    ),
  );
const toAb = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;

function ext(oid: string, critical: boolean, value: Buffer | ArrayBuffer): x509.Extension {
  return new x509.Extension({ extnID: oid, critical, extnValue: new OctetString(value) });
}

function dn(cn?: string, org?: string): x509.Name {
  const rdn = (type: string, v: string) =>
    new x509.RelativeDistinguishedName([
      new x509.AttributeTypeAndValue({ type, value: new x509.AttributeValue({ utf8String: v }) }),
    ]);
  const out: x509.RelativeDistinguishedName[] = [];
  if (org) out.push(rdn('2.5.4.10', org));
  if (cn) out.push(rdn('2.5.4.3', cn));
  return new x509.Name(out);
}

const ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const skid = (der: Buffer) => sha256(der).subarray(0, 20);

/** The RFC 5280 extensions the fake Sigstore's certificates carry. */
const certExt = {
  keyUsage: (flags: number) => ext('2.5.29.15', true, AsnConvert.serialize(new x509.KeyUsage(flags))),
  /** a CA, with a path length limit when given */
  basicConstraints: (pathLenConstraint?: number) =>
    ext(
      '2.5.29.19',
      true,
      AsnConvert.serialize(
        new x509.BasicConstraints(
          pathLenConstraint === undefined ? { cA: true } : { cA: true, pathLenConstraint },
        ),
      ),
    ),
  extKeyUsage: (usage: string, critical = false) =>
    ext('2.5.29.37', critical, AsnConvert.serialize(new x509.ExtendedKeyUsage([usage]))),
  subjectKeyId: (keyDer: Buffer) =>
    ext('2.5.29.14', false, AsnConvert.serialize(new OctetString(skid(keyDer)))),
  authorityKeyId: (issuerKeyDer: Buffer) =>
    ext(
      '2.5.29.35',
      false,
      AsnConvert.serialize(
        new x509.AuthorityKeyIdentifier({ keyIdentifier: new x509.KeyIdentifier(skid(issuerKeyDer)) }),
      ),
    ),
};

interface CertSpec {
  subject: x509.Name;
  issuer: x509.Name;
  subjectKey: Buffer; // SPKI DER
  issuerKey: { privateKey: KeyObject; der: Buffer; kind: 'p256' | 'p384' };
  notBefore: Date;
  notAfter: Date;
  extensions: x509.Extension[];
}

/** An ECDSA key as the issuer of a certificate. */
function issuerOf(k: CosignKey): CertSpec['issuerKey'] {
  if (k.kind !== 'p256' && k.kind !== 'p384')
    throw new Error(`a certificate issuer key is ECDSA, not ${k.kind}`);
  return { privateKey: k.privateKey, der: k.der, kind: k.kind };
}

function tbsOf(c: CertSpec, serial: Buffer): x509.TBSCertificate {
  return new x509.TBSCertificate({
    version: x509.Version.v3,
    serialNumber: toAb(serial),
    signature: new x509.AlgorithmIdentifier({
      algorithm: c.issuerKey.kind === 'p384' ? ECDSA_SHA384 : ECDSA_SHA256,
    }),
    issuer: c.issuer,
    validity: new x509.Validity({ notBefore: c.notBefore, notAfter: c.notAfter }),
    subject: c.subject,
    subjectPublicKeyInfo: AsnConvert.parse(c.subjectKey, x509.SubjectPublicKeyInfo),
    extensions: new x509.Extensions(c.extensions),
  });
}

function signCert(c: CertSpec, serial: Buffer): Buffer {
  const tbs = tbsOf(c, serial);
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const sig = cryptoSign(c.issuerKey.kind === 'p384' ? 'sha384' : 'sha256', tbsDer, c.issuerKey.privateKey);
  const cert = new x509.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: tbs.signature,
    signatureValue: toAb(sig),
  });
  return Buffer.from(AsnConvert.serialize(cert));
}

const serialNumber = (): Buffer => {
  const s = randomBytes(16);
  s[0] = (s[0]! & 0x7f) | 0x01;
  return s;
};

export const pemOf = (der: Buffer, type = 'CERTIFICATE'): string =>
  `-----BEGIN ${type}-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END ${type}-----\n`;

// ---- the fake Sigstore ----

export interface LogEntry {
  /** the canonicalized Rekor entry body */
  body: Buffer;
  kind: string;
  apiVersion: string;
  integratedTime: number;
  logIndex: number;
  /** hex sha256 of the log key's DER SPKI */
  logID: string;
  /** the SET: ECDSA over JCS {body, integratedTime, logIndex, logID} */
  set: Buffer;
  /** one-leaf RFC 6962 tree: root = sha256(0x00 ‖ body), signed checkpoint */
  rootHash: Buffer;
  checkpoint: string;
}

export interface KeylessSigner {
  /** the ephemeral P-256 key the certificate is for */
  key: CosignKey;
  certificateDer: Buffer;
  certificatePem: string;
  /** intermediate then root, PEM (what cosign writes into `dev.sigstore.cosign/chain`) */
  chainPem: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** the Sigstore that issued the certificate (and logs its signatures) */
  sigstore: FakeSigstore;
}

export interface IssueOptions {
  /** SAN: an email (rfc822Name) or a URI (`https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main`) */
  subject: string;
  /** OIDC issuer, written as Fulcio OID .8 (UTF8String) and .1 (raw) */
  issuer: string;
  /** Fulcio extensions by name (check.ts FULCIO_EXTENSIONS: githubWorkflowRepository, sourceRepositoryURI, …) or dotted OID */
  extensions?: Record<string, string> | undefined;
  /** default: the Sigstore's clock now; notAfter default notBefore + 10 minutes (as Fulcio) */
  notBefore?: Date | undefined;
  notAfter?: Date | undefined;
  /** embed an SCT from the CT log (default true) */
  sct?: boolean | undefined;
  /** the leaf key (default a fresh P-256 key) */
  key?: CosignKey | undefined;
}

export interface FakeSigstore {
  /** a trusted_root.json object: Fulcio CA (intermediate + root), Rekor key, CT log key, all with validFor.start */
  trustedRoot: Record<string, unknown>;
  /** the CA chain as DER: [intermediate, root] */
  caChain: Buffer[];
  rekorKey: CosignKey;
  ctlogKey: CosignKey;
  rekorUrl: string;
  /** the clock: what `now` was given (a function is called each time) */
  now(): Date;
  /** a Fulcio-style leaf for `subject`/`issuer` (embedded SCT), and its key */
  issue(o: IssueOptions): KeylessSigner;
  /** enter an entry body in the Rekor log at `integratedTime` (default now): SET, proof and checkpoint */
  log(body: Record<string, unknown>, integratedTime?: Date): LogEntry;
  /** the TSA's certificate chain as DER: [signing leaf, root] (in trustedRoot.timestampAuthorities) */
  tsaChain: Buffer[];
  /** an RFC 3161 TimeStampResp (DER) over sha256(`data`) at `at` (default now), signed by the fake TSA */
  timestamp(data: Buffer, at?: Date): Buffer;
}

export interface FakeSigstoreOptions {
  /** the clock (default the real time); a function is read on every issue/log */
  now?: Date | (() => Date) | undefined;
  /** validFor.start of every trusted-root entry and notBefore of the CA certificates (default now − 1 year) */
  validFrom?: Date | undefined;
  /** Rekor base URL (the checkpoint signature names its host) */
  rekorUrl?: string | undefined;
}

const YEAR = 365 * 24 * 3600 * 1000;

export function fakeSigstore(o: FakeSigstoreOptions = {}): FakeSigstore {
  const now = typeof o.now === 'function' ? o.now : o.now ? () => o.now as Date : () => new Date();
  const start = o.validFrom ?? new Date(now().getTime() - YEAR);
  const rekorUrl = o.rekorUrl ?? `https://rekor-${randomBytes(3).toString('hex')}.fake.test`;
  const rekorHost = new URL(rekorUrl).host;
  const rootKey = cosignKey('p384');
  const intKey = cosignKey('p384');
  const rekorKey = cosignKey('p256');
  const ctlogKey = cosignKey('p256');
  const caStart = start;
  const caEnd = new Date(start.getTime() + 20 * YEAR);
  const rootName = dn('sigstore', 'sigstore.fake');
  const intName = dn('sigstore-intermediate', 'sigstore.fake');
  const caKu = certExt.keyUsage(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  const rootDer = signCert(
    {
      subject: rootName,
      issuer: rootName,
      subjectKey: rootKey.der,
      issuerKey: issuerOf(rootKey),
      notBefore: caStart,
      notAfter: caEnd,
      extensions: [caKu, certExt.basicConstraints(1), certExt.subjectKeyId(rootKey.der)],
    },
    serialNumber(),
  );
  const intDer = signCert(
    {
      subject: intName,
      issuer: rootName,
      subjectKey: intKey.der,
      issuerKey: issuerOf(rootKey),
      notBefore: caStart,
      notAfter: caEnd,
      extensions: [
        caKu,
        certExt.basicConstraints(0),
        certExt.extKeyUsage(x509.id_kp_codeSigning),
        certExt.subjectKeyId(intKey.der),
        certExt.authorityKeyId(rootKey.der),
      ],
    },
    serialNumber(),
  );
  const chainPem = pemOf(intDer) + pemOf(rootDer);
  // the TSA: its own root and a timeStamping leaf
  const tsaRootKey = cosignKey('p384');
  const tsaKey = cosignKey('p256');
  const tsaRootName = dn('tsa', 'sigstore.fake');
  const tsaRootDer = signCert(
    {
      subject: tsaRootName,
      issuer: tsaRootName,
      subjectKey: tsaRootKey.der,
      issuerKey: issuerOf(tsaRootKey),
      notBefore: caStart,
      notAfter: caEnd,
      extensions: [caKu, certExt.basicConstraints(), certExt.subjectKeyId(tsaRootKey.der)],
    },
    serialNumber(),
  );
  const tsaSerial = serialNumber();
  const tsaDer = signCert(
    {
      subject: dn('tsa signing', 'sigstore.fake'),
      issuer: tsaRootName,
      subjectKey: tsaKey.der,
      issuerKey: issuerOf(tsaRootKey),
      notBefore: caStart,
      notAfter: caEnd,
      extensions: [
        certExt.keyUsage(x509.KeyUsageFlags.digitalSignature),
        certExt.extKeyUsage(x509.id_kp_timeStamping, true),
        certExt.subjectKeyId(tsaKey.der),
        certExt.authorityKeyId(tsaRootKey.der),
      ],
    },
    tsaSerial,
  );
  const tsaIssuerDer = Buffer.from(AsnConvert.serialize(tsaRootName));
  const keyEntry = (url: string, k: CosignKey) => ({
    baseUrl: url,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: k.der.toString('base64'),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: { start: start.toISOString() },
    },
    logId: { keyId: sha256(k.der).toString('base64') },
  });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [keyEntry(rekorUrl, rekorKey)],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.fake', commonName: 'sigstore' },
        uri: 'https://fulcio.fake.test',
        certChain: {
          certificates: [{ rawBytes: intDer.toString('base64') }, { rawBytes: rootDer.toString('base64') }],
        },
        validFor: { start: start.toISOString() },
      },
    ],
    ctlogs: [keyEntry('https://ctfe.fake.test/test', ctlogKey)],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.fake', commonName: 'tsa' },
        uri: 'https://tsa.fake.test',
        certChain: {
          certificates: [
            { rawBytes: tsaDer.toString('base64') },
            { rawBytes: tsaRootDer.toString('base64') },
          ],
        },
        validFor: { start: start.toISOString() },
      },
    ],
  };
  let nextIndex = 1000;
  const intIssuer = issuerOf(intKey);

  const self: FakeSigstore = {
    trustedRoot,
    caChain: [intDer, rootDer],
    rekorKey,
    ctlogKey,
    rekorUrl,
    now,
    tsaChain: [tsaDer, tsaRootDer],
    timestamp(data, at) {
      const SHA256 = tlv(0x30, derOid('2.16.840.1.101.3.4.2.1'));
      const TSTINFO = '1.2.840.113549.1.9.16.1.4';
      const tstInfo = tlv(
        0x30,
        derInt(Buffer.from([1])),
        derOid('1.3.6.1.4.1.57264.2'),
        tlv(0x30, SHA256, tlv(0x04, sha256(data))),
        derInt(serialNumber()),
        derTime(at ?? now()),
      );
      const attr = (oid: string, value: Buffer) => tlv(0x30, derOid(oid), tlv(0x31, value));
      const attrs = [
        attr('1.2.840.113549.1.9.3', derOid(TSTINFO)),
        attr('1.2.840.113549.1.9.4', tlv(0x04, sha256(tstInfo))),
        // signingCertificateV2 { certs: [ESSCertIDv2 { certHash }] }
        attr('1.2.840.113549.1.9.16.2.47', tlv(0x30, tlv(0x30, tlv(0x30, tlv(0x04, sha256(tsaDer)))))),
      ];
      const sig = cryptoSign('sha256', tlv(0x31, ...attrs), tsaKey.privateKey);
      const signerInfo = tlv(
        0x30,
        derInt(Buffer.from([1])),
        tlv(0x30, tsaIssuerDer, derInt(tsaSerial)),
        SHA256,
        tlv(0xa0, ...attrs),
        tlv(0x30, derOid(ECDSA_SHA256)),
        tlv(0x04, sig),
      );
      const signedData = tlv(
        0x30,
        derInt(Buffer.from([3])),
        tlv(0x31, SHA256),
        tlv(0x30, derOid(TSTINFO), tlv(0xa0, tlv(0x04, tstInfo))),
        tlv(0xa0, tsaDer),
        tlv(0x31, signerInfo),
      );
      const token = tlv(0x30, derOid('1.2.840.113549.1.7.2'), tlv(0xa0, signedData));
      return tlv(0x30, tlv(0x30, derInt(Buffer.from([0]))), token);
    },
    issue(io) {
      const key = io.key ?? cosignKey('p256');
      const notBefore = io.notBefore ?? now();
      const notAfter = io.notAfter ?? new Date(notBefore.getTime() + 10 * 60 * 1000);
      const isEmail = io.subject.includes('@') && !io.subject.includes('://');
      const extras: x509.Extension[] = [
        ext('1.3.6.1.4.1.57264.1.1', false, Buffer.from(io.issuer, 'utf8')),
        ext('1.3.6.1.4.1.57264.1.8', false, derUtf8(io.issuer)),
      ];
      for (const [name, value] of Object.entries(io.extensions ?? {})) {
        const oid = /^\d+(\.\d+)+$/.test(name) ? name : FULCIO_EXTENSIONS[name];
        if (!oid) throw new Error(`unknown Fulcio extension ${name}`);
        const n = Number(oid.split('.').pop());
        const legacyRaw = oid.startsWith('1.3.6.1.4.1.57264.1.') && n <= 6;
        extras.push(ext(oid, false, legacyRaw ? Buffer.from(value, 'utf8') : derUtf8(value)));
      }
      const spec: CertSpec = {
        subject: new x509.Name([]),
        issuer: intName,
        subjectKey: key.der,
        issuerKey: intIssuer,
        notBefore,
        notAfter,
        extensions: [
          certExt.keyUsage(x509.KeyUsageFlags.digitalSignature),
          certExt.extKeyUsage(x509.id_kp_codeSigning),
          certExt.subjectKeyId(key.der),
          certExt.authorityKeyId(intKey.der),
          ext(
            '2.5.29.17',
            true,
            AsnConvert.serialize(
              new x509.SubjectAlternativeName([
                new x509.GeneralName(
                  isEmail ? { rfc822Name: io.subject } : { uniformResourceIdentifier: io.subject },
                ),
              ]),
            ),
          ),
          ...extras,
        ],
      };
      const serial = serialNumber();
      if (io.sct !== false) {
        // RFC 6962 §3.2: the SCT signs the TBS without the SCT extension, and the issuer key hash
        const preTbs = Buffer.from(AsnConvert.serialize(tbsOf(spec, serial)));
        const ts = Buffer.alloc(8);
        ts.writeBigUInt64BE(BigInt(notBefore.getTime()));
        const len3 = Buffer.from([
          (preTbs.length >> 16) & 0xff,
          (preTbs.length >> 8) & 0xff,
          preTbs.length & 0xff,
        ]);
        const signed = Buffer.concat([
          Buffer.from([0, 0]),
          ts,
          Buffer.from([0, 1]),
          sha256(intKey.der),
          len3,
          preTbs,
          Buffer.from([0, 0]),
        ]);
        const sig = cryptoSign('sha256', signed, ctlogKey.privateKey);
        const sigLen = Buffer.alloc(2);
        sigLen.writeUInt16BE(sig.length);
        const sct = Buffer.concat([
          Buffer.from([0]),
          sha256(ctlogKey.der),
          ts,
          Buffer.from([0, 0, 4, 3]),
          sigLen,
          sig,
        ]);
        const list = Buffer.alloc(4);
        list.writeUInt16BE(sct.length + 2, 0);
        list.writeUInt16BE(sct.length, 2);
        spec.extensions.push(
          ext(
            '1.3.6.1.4.1.11129.2.4.2',
            false,
            AsnConvert.serialize(new OctetString(Buffer.concat([list, sct]))),
          ),
        );
      }
      const der = signCert(spec, serial);
      return {
        key,
        certificateDer: der,
        certificatePem: pemOf(der),
        chainPem,
        subject: io.subject,
        issuer: io.issuer,
        notBefore,
        notAfter,
        sigstore: self,
      };
    },
    log(bodyObj, at) {
      const body = Buffer.from(json.canonicalize(bodyObj), 'utf8');
      const integratedTime = Math.floor((at ?? now()).getTime() / 1000);
      const logIndex = nextIndex++;
      const logID = rekorKey.keyId;
      const set = signedEntryTimestamp(rekorKey.privateKey, { body, integratedTime, logIndex, logID });
      const rootHash = sha256(Buffer.concat([Buffer.from([0]), body]));
      const note = `${rekorHost} - 1\n1\n${rootHash.toString('base64')}\n`;
      const noteSig = cryptoSign('sha256', Buffer.from(note), rekorKey.privateKey);
      const checkpoint = `${note}\n\u2014 ${rekorHost} ${Buffer.concat([sha256(rekorKey.der).subarray(0, 4), noteSig]).toString('base64')}\n`;
      return {
        body,
        kind: String(bodyObj.kind),
        apiVersion: String(bodyObj.apiVersion),
        integratedTime,
        logIndex,
        logID,
        set,
        rootHash,
        checkpoint,
      };
    },
  };
  return self;
}

// ---- Rekor bodies and their two serialisations ----

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

/** hashedrekord 0.0.1 as Rekor stores it: sha256 of the signed bytes, signature, key or certificate PEM. */
export function hashedRekordBody(o: {
  signed: Buffer;
  signature: Buffer;
  verifierPem: string;
}): Record<string, unknown> {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: hex(o.signed) } },
      signature: { content: b64(o.signature), publicKey: { content: b64(o.verifierPem) } },
    },
  };
}

/** dsse 0.0.1 in the server form (payloadHash, envelopeHash, signatures[{signature, verifier}]). */
export function dsseBody(o: {
  envelope: Buffer;
  payload: Buffer;
  signature: Buffer;
  verifierPem: string;
}): Record<string, unknown> {
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: hex(o.envelope) },
      payloadHash: { algorithm: 'sha256', value: hex(o.payload) },
      signatures: [{ signature: b64(o.signature), verifier: b64(o.verifierPem) }],
    },
  };
}

/** intoto 0.0.2 as cosign's legacy `attest` logs it (signature double-base64, key PEM base64). */
export function intotoBody(o: {
  envelope: Buffer;
  payload: Buffer;
  payloadType: string;
  signature: Buffer;
  verifierPem: string;
}): Record<string, unknown> {
  return {
    apiVersion: '0.0.2',
    kind: 'intoto',
    spec: {
      content: {
        envelope: {
          payloadType: o.payloadType,
          signatures: [{ publicKey: b64(o.verifierPem), sig: b64(b64(o.signature)) }],
        },
        hash: { algorithm: 'sha256', value: hex(o.envelope) },
        payloadHash: { algorithm: 'sha256', value: hex(o.payload) },
      },
    },
  };
}

/** A Rekor SET: the log key's signature over the canonical `{body, integratedTime, logIndex, logID}`. */
function signedEntryTimestamp(
  logKey: KeyObject,
  e: Pick<LogEntry, 'body' | 'integratedTime' | 'logIndex' | 'logID'>,
): Buffer {
  const payload = {
    body: b64(e.body),
    integratedTime: e.integratedTime,
    logIndex: e.logIndex,
    logID: e.logID,
  };
  return cryptoSign('sha256', Buffer.from(json.canonicalize(payload)), logKey);
}

/** The `dev.sigstore.cosign/bundle` annotation: `{SignedEntryTimestamp, Payload:{body, integratedTime, logIndex, logID}}`. */
export function rekorBundleAnnotation(
  e: Pick<LogEntry, 'set' | 'body' | 'integratedTime' | 'logIndex' | 'logID'>,
): string {
  return goJson({
    SignedEntryTimestamp: b64(e.set),
    Payload: { body: b64(e.body), integratedTime: e.integratedTime, logIndex: e.logIndex, logID: e.logID },
  });
}

/**
 * The `dev.sigstore.cosign/bundle` annotation of a hashedrekord entry (`payload` signed as `signature`, base64, by
 * `keyPem`) with a SET from a log key of the caller's own: for tests that make their keys with node:crypto.
 */
export function rekorBundleFor(o: {
  log: { privateKey: KeyObject; publicKey: KeyObject };
  payload: Buffer;
  signature: string;
  keyPem: string;
  integratedTime: number;
  logIndex: number;
}): string {
  const rekord = hashedRekordBody({
    signed: o.payload,
    signature: Buffer.from(o.signature, 'base64'),
    verifierPem: o.keyPem,
  });
  const e = {
    body: Buffer.from(JSON.stringify(rekord)),
    integratedTime: o.integratedTime,
    logIndex: o.logIndex,
    logID: hex(o.log.publicKey.export({ type: 'spki', format: 'der' })),
  };
  return rekorBundleAnnotation({ ...e, set: signedEntryTimestamp(o.log.privateKey, e) });
}

/** The bundle v0.3 `tlogEntries[]` element: SET and one-leaf inclusion proof with its signed checkpoint. */
export function bundleTlogEntry(e: LogEntry): Record<string, unknown> {
  return {
    logIndex: String(e.logIndex),
    logId: { keyId: Buffer.from(e.logID, 'hex').toString('base64') },
    kindVersion: { kind: e.kind, version: e.apiVersion },
    integratedTime: String(e.integratedTime),
    inclusionPromise: { signedEntryTimestamp: b64(e.set) },
    inclusionProof: {
      logIndex: '0',
      rootHash: b64(e.rootHash),
      treeSize: '1',
      hashes: [],
      checkpoint: { envelope: e.checkpoint },
    },
    canonicalizedBody: b64(e.body),
  };
}

// ---- signing ----

/** A keyed signer (a CosignKey) or a keyless one (issued by a FakeSigstore). */
export type Signer = CosignKey | KeylessSigner;
const isKeyless = (s: Signer): s is KeylessSigner => 'certificateDer' in s;
const keyOf = (s: Signer): CosignKey => (isKeyless(s) ? s.key : s);
/** what a Rekor body names as the verifier: the certificate (keyless) or the public key PEM */
const verifierPem = (s: Signer): string => (isKeyless(s) ? s.certificatePem : s.pem);

export interface LogOptions {
  /**
   * the Rekor log: keyless signers log to their own Sigstore unless `false`; keyed signers only when given one
   * (cosign `sign --key` with the default tlog upload)
   */
  tlog?: FakeSigstore | false | undefined;
  /** the entry's integratedTime (default the log's clock) */
  integratedTime?: Date | undefined;
  /** add an RFC 3161 timestamp over the signature from this Sigstore's TSA (cosign `--timestamp-server-url`) */
  tsa?: FakeSigstore | undefined;
  /** the timestamp's genTime (default the TSA's clock) */
  timestampTime?: Date | undefined;
}

function logOf(s: Signer, o: LogOptions): FakeSigstore | undefined {
  if (o.tlog === false) return undefined;
  return o.tlog ?? (isKeyless(s) ? s.sigstore : undefined);
}

/** One layer of a legacy `.sig` / `.att` manifest. */
export interface LegacyLayer {
  payload: Buffer;
  mediaType: string;
  annotations: Record<string, string>;
  /** the Rekor entry, when logged */
  logEntry?: LogEntry | undefined;
}

/**
 * A legacy `.sig` layer: the payload (simple-signing JSON), its signature, for a keyless signer the certificate
 * and chain, and the Rekor bundle when logged. `key` is the keyed shorthand of `signer`.
 */
export function signLegacy(
  o: {
    payload: Buffer;
    signer?: Signer;
    key?: CosignKey;
    /** write `dev.sigstore.cosign/chain` (keyless; default true), or this PEM instead */
    chain?: boolean | string;
    /** a certificate PEM to write instead of the signer's (hostile tests) */
    certificatePem?: string;
    mediaType?: string;
  } & LogOptions,
): LegacyLayer {
  const signer = o.signer ?? o.key;
  if (!signer) throw new Error('signLegacy needs a signer or a key');
  const sig = signBytes(keyOf(signer), o.payload);
  const annotations: Record<string, string> = { [COSIGN_ANNOTATION.signature]: b64(sig) };
  if (isKeyless(signer) || o.certificatePem) {
    annotations[COSIGN_ANNOTATION.certificate] = o.certificatePem ?? (signer as KeylessSigner).certificatePem;
    if (o.chain !== false && (isKeyless(signer) || typeof o.chain === 'string'))
      annotations[COSIGN_ANNOTATION.chain] =
        typeof o.chain === 'string' ? o.chain : (signer as KeylessSigner).chainPem;
  }
  const log = logOf(signer, o);
  let logEntry: LogEntry | undefined;
  if (log) {
    logEntry = log.log(
      hashedRekordBody({
        signed: o.payload,
        signature: sig,
        verifierPem: o.certificatePem ?? verifierPem(signer),
      }),
      o.integratedTime,
    );
    annotations[COSIGN_ANNOTATION.bundle] = rekorBundleAnnotation(logEntry);
  }
  if (o.tsa)
    annotations[COSIGN_ANNOTATION.timestamp] = goJson({
      SignedRFC3161Timestamp: b64(o.tsa.timestamp(sig, o.timestampTime)),
    });
  return { payload: o.payload, mediaType: o.mediaType ?? SIMPLE_SIGNING_MEDIA_TYPE, annotations, logEntry };
}

/** A DSSE envelope around `payload`, signed over PAE; returns the envelope bytes (Go field order) and the signature. */
export function dsseEnvelope(o: { payload: Buffer; payloadType?: string; signer: Signer }): {
  envelope: Buffer;
  signature: Buffer;
  json: { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] };
} {
  const payloadType = o.payloadType ?? INTOTO_PAYLOAD_TYPE;
  const signature = signBytes(keyOf(o.signer), pae(payloadType, o.payload));
  const env = { payloadType, payload: b64(o.payload), signatures: [{ keyid: '', sig: b64(signature) }] };
  return { envelope: Buffer.from(goJson(env)), signature, json: env };
}

/**
 * A legacy `.att` layer (cosign `attest` before v3): the DSSE envelope blob, an empty signature annotation, for
 * keyless the certificate and chain, and the Rekor bundle (intoto 0.0.2) when logged.
 */
export function signLegacyAttestation(o: { statement: Buffer; signer: Signer } & LogOptions): LegacyLayer {
  const { envelope, signature } = dsseEnvelope({ payload: o.statement, signer: o.signer });
  const annotations: Record<string, string> = { [COSIGN_ANNOTATION.signature]: '' };
  if (isKeyless(o.signer)) {
    annotations[COSIGN_ANNOTATION.certificate] = o.signer.certificatePem;
    annotations[COSIGN_ANNOTATION.chain] = o.signer.chainPem;
  }
  const log = logOf(o.signer, o);
  let logEntry: LogEntry | undefined;
  if (log) {
    logEntry = log.log(
      intotoBody({
        envelope,
        payload: o.statement,
        payloadType: INTOTO_PAYLOAD_TYPE,
        signature,
        verifierPem: verifierPem(o.signer),
      }),
      o.integratedTime,
    );
    annotations[COSIGN_ANNOTATION.bundle] = rekorBundleAnnotation(logEntry);
  }
  return { payload: envelope, mediaType: DSSE_ENVELOPE_MEDIA_TYPE, annotations, logEntry };
}

function verificationMaterial(
  s: Signer,
  entry: LogEntry | undefined,
  sig: Buffer,
  o: LogOptions,
): Record<string, unknown> {
  const rfc3161Timestamps = o.tsa ? [{ signedTimestamp: b64(o.tsa.timestamp(sig, o.timestampTime)) }] : [];
  return {
    ...(isKeyless(s)
      ? { certificate: { rawBytes: b64(s.certificateDer) } }
      : { publicKey: { hint: b64(Buffer.from(s.keyId, 'hex')) } }),
    tlogEntries: entry ? [bundleTlogEntry(entry)] : [],
    timestampVerificationData: { rfc3161Timestamps },
  };
}

export interface SigstoreBundle {
  /** the bundle JSON bytes (the referrer's layer) */
  bytes: Buffer;
  json: Record<string, unknown>;
  content: 'message-signature' | 'dsse-envelope';
  /** DSSE: the statement's predicateType */
  predicateType?: string | undefined;
  logEntry?: LogEntry | undefined;
}

/**
 * A v0.3 message-signature bundle over `artifact` (the image manifest bytes): messageDigest = sha256(artifact),
 * signature over the bytes, hashedrekord entry when logged (bundle v0.3 needs one with an inclusion proof
 * unless keyed and `tlog: false`).
 */
export function messageSignatureBundle(o: { artifact: Buffer; signer: Signer } & LogOptions): SigstoreBundle {
  const sig = signBytes(keyOf(o.signer), o.artifact);
  const log = logOf(o.signer, o);
  const logEntry = log
    ? log.log(
        hashedRekordBody({ signed: o.artifact, signature: sig, verifierPem: verifierPem(o.signer) }),
        o.integratedTime,
      )
    : undefined;
  const doc = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: verificationMaterial(o.signer, logEntry, sig, o),
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: b64(sha256(o.artifact)) },
      signature: b64(sig),
    },
  };
  return { bytes: Buffer.from(JSON.stringify(doc)), json: doc, content: 'message-signature', logEntry };
}

/** A v0.3 DSSE bundle around an in-toto statement (cosign v3 `sign` / `attest`), dsse 0.0.1 entry when logged. */
export function dsseBundle(o: { statement: Buffer; signer: Signer } & LogOptions): SigstoreBundle {
  const { envelope, signature, json: env } = dsseEnvelope({ payload: o.statement, signer: o.signer });
  const log = logOf(o.signer, o);
  const logEntry = log
    ? log.log(
        dsseBody({ envelope, payload: o.statement, signature, verifierPem: verifierPem(o.signer) }),
        o.integratedTime,
      )
    : undefined;
  const doc = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: verificationMaterial(o.signer, logEntry, signature, o),
    dsseEnvelope: env,
  };
  let predicateType: string | undefined;
  try {
    predicateType = JSON.parse(o.statement.toString('utf8')).predicateType;
  } catch {
    predicateType = undefined;
  }
  return {
    bytes: Buffer.from(JSON.stringify(doc)),
    json: doc,
    content: 'dsse-envelope',
    predicateType,
    logEntry,
  };
}

// ---- OCI shapes (built by push.ts's builders) ----

/** The `.sig` / `.att` manifest and config exactly as skopeo (c/image) writes them, plus blobs to push. */
export interface SigManifest {
  config: Buffer;
  /** `tag` when built for a digest */
  manifest: BuiltBlob & { tag?: string };
  /** config then the layer payloads */
  blobs: Buffer[];
}

/**
 * cosign's legacy attachment manifest for `layers` (cosignLegacyManifest), Go map order in each layer's
 * annotations. `tag` is set when `forDigest` is given (`sha256-<hex>.sig` or `.att` by `suffix`).
 * `sizeOverride` writes a different size into layer descriptors (hostile: a 100 MiB "signature").
 */
export function sigManifest(
  layers: LegacyLayer[],
  o: { forDigest?: string; suffix?: 'sig' | 'att'; sizeOverride?: number } = {},
): SigManifest {
  const { manifest, config } = cosignLegacyManifest(
    layers.map((l) => {
      const blob = built(l.payload, l.mediaType);
      return {
        blob: o.sizeOverride === undefined ? blob : { ...blob, size: o.sizeOverride },
        annotations: sorted(l.annotations),
      };
    }),
  );
  const suffix = o.suffix ?? (layers[0]?.mediaType === DSSE_ENVELOPE_MEDIA_TYPE ? 'att' : 'sig');
  const tag = o.forDigest ? digestTag(o.forDigest, suffix) : undefined;
  return {
    config: config.bytes,
    manifest: { ...manifest, ...(tag ? { tag } : {}) },
    blobs: [config.bytes, ...layers.map((l) => l.payload)],
  };
}

/** Go marshals maps with sorted keys. */
function sorted(m: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
}

/**
 * A Sigstore bundle as cosign v3 stores it: an OCI 1.1 referrer manifest with `artifactType` = the bundle media
 * type, the empty config, the bundle as its one layer, `subject` = the image, and the bundle annotations.
 */
export function bundleReferrer(o: {
  subject: DescriptorJson;
  bundle: SigstoreBundle;
  artifactType?: string;
  created?: Date;
}): { manifest: BuiltBlob; blobs: Buffer[]; artifactType: string; annotations: Record<string, string> } {
  const artifactType = o.artifactType ?? BUNDLE_V03_MEDIA_TYPE;
  const annotations: Record<string, string> = {
    [COSIGN_ANNOTATION.bundleContent]: o.bundle.content,
    ...(o.bundle.predicateType ? { [COSIGN_ANNOTATION.bundlePredicateType]: o.bundle.predicateType } : {}),
    [COSIGN_ANNOTATION.created]: (o.created ?? new Date(0)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const manifest = referrerManifest({
    artifactType,
    subject: o.subject,
    layers: [built(o.bundle.bytes, BUNDLE_V03_MEDIA_TYPE)],
    annotations,
  });
  return { manifest, blobs: [EMPTY_CONFIG.bytes, o.bundle.bytes], artifactType, annotations };
}

// ---- one call per image: what pushArtifacts takes ----

/** A legacy `.sig` (or `.att`) tag for `imageDigest` with these layers, as a PushSet. */
export function legacyPushSet(imageDigest: string, layers: LegacyLayer[], suffix?: 'sig' | 'att'): PushSet {
  const m = sigManifest(layers, { forDigest: imageDigest, ...(suffix ? { suffix } : {}) });
  return {
    blobs: m.blobs,
    manifests: [{ bytes: m.manifest.bytes, mediaType: m.manifest.mediaType, tag: m.manifest.tag! }],
  };
}

/**
 * Sign `digest` with `key` for `dockerReference` as `cosign sign --key --tlog-upload=false` does (simple signing
 * under the `.sig` tag, no Rekor entry) and push the signature to `repository` on the plain-HTTP registry `host`.
 */
export async function pushKeyedSignature(
  host: string,
  repository: string,
  digest: string,
  dockerReference: string,
  key: CosignKey,
): Promise<void> {
  const sig = signLegacy({ payload: simpleSigningPayload({ digest, dockerReference }), key });
  await pushArtifacts(host, repository, legacyPushSet(digest, [sig]));
}

/** Bundle referrers of `subject` plus their tag-schema index, as a PushSet (index pushed last). */
export function referrersPushSet(subject: DescriptorJson, bundles: SigstoreBundle[]): PushSet {
  const refs = bundles.map((bundle) => bundleReferrer({ subject, bundle }));
  const index = tagSchemaIndex(refs);
  return {
    blobs: refs.flatMap((r) => r.blobs),
    manifests: [
      ...refs.map((r) => ({ bytes: r.manifest.bytes, mediaType: r.manifest.mediaType })),
      { bytes: index.bytes, mediaType: index.mediaType, tag: digestTag(subject.digest) },
    ],
  };
}

/** Merge push sets (blobs de-duplicated, manifests in order). */
export function mergePushSets(...sets: PushSet[]): PushSet {
  const seen = new Set<string>();
  const blobs: Buffer[] = [];
  for (const s of sets)
    for (const b of s.blobs) {
      const d = digestOf(b);
      if (!seen.has(d)) {
        seen.add(d);
        blobs.push(b);
      }
    }
  return { blobs, manifests: sets.flatMap((s) => s.manifests) };
}

/** The image being signed: its manifest digest, and for bundles its bytes and media type (the referrer subject). */
export interface SignTarget {
  digest: string;
  /** the manifest bytes (needed for bundles: the subject descriptor, and message-signature bundles sign them) */
  bytes?: Buffer | undefined;
  /** default OCI image manifest */
  mediaType?: string | undefined;
}

export interface SignImageOptions extends LogOptions {
  image: SignTarget;
  /** `critical.identity.docker-reference`, e.g. `127.0.0.1:5000/demo/app` */
  dockerReference: string;
  signer: Signer;
  /** `legacy`: a `.sig` tag (cosign ≤ v2); `bundle`: an OCI 1.1 referrer + tag-schema index (cosign v3). Default legacy. */
  format?: 'legacy' | 'bundle' | undefined;
  /** for `bundle`: `dsse` (cosign v3 `sign`: in-toto statement, predicate sign/v1; default) or `message` */
  bundleContent?: 'dsse' | 'message' | undefined;
  /** simple-signing `optional` annotations (legacy) */
  annotations?: Record<string, string> | undefined;
  /** attestations: `.att` layers (legacy) or more DSSE bundle referrers (bundle) */
  attestations?: { predicateType: string; predicate: unknown }[] | undefined;
}

export interface SignedImage {
  /** what pushArtifacts takes (the image itself is not included) */
  push: PushSet;
  layers: LegacyLayer[];
  attestationLayers: LegacyLayer[];
  bundles: SigstoreBundle[];
}

/** Sign one image the way cosign stores it: the artifacts to push next to it. */
export function signImage(o: SignImageOptions): SignedImage {
  const log: LogOptions = {
    tlog: o.tlog,
    integratedTime: o.integratedTime,
    tsa: o.tsa,
    timestampTime: o.timestampTime,
  };
  const statements = (o.attestations ?? []).map((a) =>
    inTotoStatement({
      digest: o.image.digest,
      name: o.dockerReference,
      predicateType: a.predicateType,
      predicate: a.predicate,
    }),
  );
  if ((o.format ?? 'legacy') === 'legacy') {
    const layers = [
      signLegacy({
        payload: simpleSigningPayload({
          digest: o.image.digest,
          dockerReference: o.dockerReference,
          annotations: o.annotations,
        }),
        signer: o.signer,
        ...log,
      }),
    ];
    const attestationLayers = statements.map((statement) =>
      signLegacyAttestation({ statement, signer: o.signer, ...log }),
    );
    const sets = [legacyPushSet(o.image.digest, layers, 'sig')];
    if (attestationLayers.length > 0) sets.push(legacyPushSet(o.image.digest, attestationLayers, 'att'));
    return { push: mergePushSets(...sets), layers, attestationLayers, bundles: [] };
  }
  if (!o.image.bytes) throw new Error('signImage: a bundle needs the image manifest bytes (image.bytes)');
  const subject = built(o.image.bytes, o.image.mediaType ?? OCI_MANIFEST);
  if (subject.digest !== o.image.digest)
    throw new Error('signImage: image.bytes do not hash to image.digest');
  const first =
    o.bundleContent === 'message'
      ? messageSignatureBundle({ artifact: o.image.bytes, signer: o.signer, ...log })
      : dsseBundle({
          statement: inTotoStatement({ digest: o.image.digest, name: o.dockerReference }),
          signer: o.signer,
          ...log,
        });
  const bundles = [
    first,
    ...statements.map((statement) => dsseBundle({ statement, signer: o.signer, ...log })),
  ];
  return { push: referrersPushSet(subject, bundles), layers: [], attestationLayers: [], bundles };
}

/**
 * skopeo's `dir:` signature file for a sigstore attachment (`signature-N`): `\x00sigstore-json\n` +
 * {mimeType, payload, annotations}.
 */
export function skopeoSignatureFile(l: LegacyLayer): Buffer {
  return Buffer.concat([
    Buffer.from('\x00sigstore-json\n'),
    Buffer.from(
      goJson({ mimeType: l.mediaType, payload: b64(l.payload), annotations: sorted(l.annotations) }),
    ),
  ]);
}

// ---- hostile variants (each must fail verification) ----

function annotationSwap(l: LegacyLayer, name: string, f: (v: string) => string): LegacyLayer {
  const v = l.annotations[name];
  if (v === undefined) throw new Error(`layer has no ${name}`);
  return { ...l, annotations: { ...l.annotations, [name]: f(v) } };
}

export const hostile = {
  /** a valid signature whose payload names `otherDigest` (placed under the image's `.sig`) */
  signatureOverOtherDigest(
    o: { otherDigest: string; dockerReference: string; signer: Signer } & LogOptions,
  ): LegacyLayer {
    return signLegacy({
      ...o,
      payload: simpleSigningPayload({ digest: o.otherDigest, dockerReference: o.dockerReference }),
    });
  },
  /** the exact layer of another image's `.sig`, replayed next to this one (identity: the layer object itself) */
  replay(l: LegacyLayer): LegacyLayer {
    return { ...l, annotations: { ...l.annotations } };
  },
  /** a valid signature over the right digest, naming another repository */
  payloadForOtherRepository(
    o: { digest: string; otherRepository: string; signer: Signer } & LogOptions,
  ): LegacyLayer {
    return signLegacy({
      ...o,
      payload: simpleSigningPayload({ digest: o.digest, dockerReference: o.otherRepository }),
    });
  },
  /**
   * signed by a certificate of an attacker's CA (a FakeSigstore not in the trusted root) with that CA in the
   * chain annotation, logged in the real (trusted) Rekor so only the chain is wrong
   */
  attackerCa(o: {
    payload: Buffer;
    attacker: FakeSigstore;
    trusted: FakeSigstore;
    subject: string;
    issuer: string;
  }): LegacyLayer {
    const s = o.attacker.issue({ subject: o.subject, issuer: o.issuer });
    return signLegacy({ payload: o.payload, signer: s, tlog: o.trusted });
  },
  /** the Rekor bundle annotation with its SET's signature bytes altered */
  forgedSet(l: LegacyLayer): LegacyLayer {
    return annotationSwap(l, COSIGN_ANNOTATION.bundle, (v) => {
      const o = JSON.parse(v);
      const set = Buffer.from(o.SignedEntryTimestamp, 'base64');
      set[set.length - 1] = set[set.length - 1]! ^ 0x01;
      o.SignedEntryTimestamp = set.toString('base64');
      return goJson(o);
    });
  },
  /** a SET made by another log key (a self-made Rekor), over a true body */
  setFromOtherLog(o: { payload: Buffer; signer: Signer; otherLog: FakeSigstore }): LegacyLayer {
    return signLegacy({ payload: o.payload, signer: o.signer, tlog: o.otherLog });
  },
  /** the Rekor bundle annotation with a later integratedTime (SET no longer matches) */
  movedIntegratedTime(l: LegacyLayer, seconds: number): LegacyLayer {
    return annotationSwap(l, COSIGN_ANNOTATION.bundle, (v) => {
      const o = JSON.parse(v);
      o.Payload.integratedTime += seconds;
      return goJson(o);
    });
  },
  /** a certificate that expired before the entry's integratedTime (valid SET, signed late) */
  expiredAtIntegratedTime(o: {
    payload: Buffer;
    sigstore: FakeSigstore;
    subject: string;
    issuer: string;
  }): LegacyLayer {
    const now = o.sigstore.now();
    const s = o.sigstore.issue({
      subject: o.subject,
      issuer: o.issuer,
      notBefore: new Date(now.getTime() - 60 * 60 * 1000),
      notAfter: new Date(now.getTime() - 50 * 60 * 1000),
    });
    return signLegacy({ payload: o.payload, signer: s, integratedTime: now });
  },
  /** a keyless certificate without an SCT */
  noSct(o: { payload: Buffer; sigstore: FakeSigstore; subject: string; issuer: string }): LegacyLayer {
    return signLegacy({
      payload: o.payload,
      signer: o.sigstore.issue({ subject: o.subject, issuer: o.issuer, sct: false }),
    });
  },
  /** a message-signature bundle over another manifest's bytes */
  bundleForOtherArtifact(o: { otherArtifact: Buffer; signer: Signer } & LogOptions): SigstoreBundle {
    return messageSignatureBundle({ ...o, artifact: o.otherArtifact });
  },
  /** a DSSE bundle whose statement is about another image */
  attestationAboutOtherImage(
    o: { otherDigest: string; signer: Signer; predicateType?: string; predicate?: unknown } & LogOptions,
  ): SigstoreBundle {
    return dsseBundle({
      ...o,
      statement: inTotoStatement({
        digest: o.otherDigest,
        predicateType: o.predicateType,
        predicate: o.predicate,
      }),
    });
  },
  /** a `.sig` manifest whose one layer descriptor claims 100 MiB (the blob is not pushed unless `withBlob`) */
  hugeSignatureLayer(o: { imageDigest: string; layer: LegacyLayer; size?: number }): PushSet {
    const m = sigManifest([o.layer], { forDigest: o.imageDigest, sizeOverride: o.size ?? 100 * 1024 * 1024 });
    return {
      blobs: m.blobs,
      manifests: [{ bytes: m.manifest.bytes, mediaType: m.manifest.mediaType, tag: m.manifest.tag! }],
    };
  },
};

// ---- as trustpin's discovery hands them to checkArtifact ----

/** A legacy layer as the SignatureArtifact discovery would produce (for checkArtifact unit and attack tests). */
export function legacyArtifact(
  l: LegacyLayer,
  manifestDigest = 'sha256:'.padEnd(71, '0'),
): SignatureArtifact {
  return {
    format: l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE ? 'legacy-attestation' : 'legacy-signature',
    origin: 'test harness layer',
    manifestDigest,
    layerDigest: digestOf(l.payload),
    mediaType: l.mediaType,
    annotations: l.annotations,
    bytes: l.payload,
  };
}

/** A bundle as the SignatureArtifact discovery would produce from its referrer. */
export function bundleArtifact(
  b: SigstoreBundle,
  manifestDigest = 'sha256:'.padEnd(71, '0'),
): SignatureArtifact {
  return {
    format: 'bundle',
    origin: 'test harness referrer',
    manifestDigest,
    layerDigest: digestOf(b.bytes),
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    annotations: {},
    bytes: b.bytes,
    artifactType: BUNDLE_V03_MEDIA_TYPE,
    predicateTypeHint: b.predicateType,
  };
}
